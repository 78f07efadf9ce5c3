import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ExchangeDisconnectedEvent, ExchangeDisconnectListener, UserDeactivatedListener, UserHooks } from '@torgovo/users';

/**
 * Stops bots when the user can no longer run them, in the transaction that made the change, with
 * the reason in stop_reason so the bot list says why alerts are no longer traded:
 * - the user removed their exchange keys → their running live bots on that exchange stop
 *   (`exchange_disconnected`); paper bots keep running;
 * - the account was deactivated → every running bot stops (`user_deactivated`).
 * Orders are not edited here: the executor's placement rule (libs/trading placement-rule.ts) ends
 * each queued order `canceled` with its reason when it comes to send it, after looking up any that
 * may already be on the exchange.
 */
@Injectable()
export class BotUserListener implements ExchangeDisconnectListener, UserDeactivatedListener, OnModuleInit {
  private readonly logger = new Logger(BotUserListener.name);

  constructor(private readonly hooks: UserHooks) {}

  onModuleInit(): void {
    this.hooks.addDisconnectListener(this);
    this.hooks.addDeactivationListener(this);
  }

  async onExchangeDisconnected(event: ExchangeDisconnectedEvent, manager: EntityManager): Promise<void> {
    const stopped = await this.stop(manager, 'exchange_disconnected', `user_id = $2 AND exchange = $3 AND mode = 'live'`, [event.user_id, event.exchange]);
    if (stopped > 0) this.logger.log({ user_id: event.user_id, exchange: event.exchange, stopped }, 'Live bots stopped: exchange disconnected');
  }

  async onUserDeactivated(userId: string, manager: EntityManager): Promise<void> {
    const stopped = await this.stop(manager, 'user_deactivated', 'user_id = $2', [userId]);
    if (stopped > 0) this.logger.log({ user_id: userId, stopped }, 'Bots stopped: user deactivated');
  }

  private async stop(manager: EntityManager, reason: string, where: string, params: unknown[]): Promise<number> {
    const [, stopped] = (await manager.query(
      `UPDATE bots SET status = 'stopped', stop_reason = $1, updated_at = now()
        WHERE ${where} AND status = 'running' AND deleted_at IS NULL`,
      [reason, ...params],
    )) as [unknown, number];
    return stopped;
  }
}
