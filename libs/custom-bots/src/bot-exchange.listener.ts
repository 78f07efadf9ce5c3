import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ExchangeConnectionHooks, ExchangeDisconnectedEvent, ExchangeDisconnectListener } from '@torgovo/users';

/**
 * When a user removes their exchange keys, their running live bots on that exchange stop with
 * stop_reason `exchange_disconnected`, in the same transaction, so the bot list says why alerts
 * are no longer traded. Paper bots keep running. Orders already queued are rejected by the
 * TradingManager with `exchange_not_connected`.
 */
@Injectable()
export class BotExchangeListener implements ExchangeDisconnectListener, OnModuleInit {
  private readonly logger = new Logger(BotExchangeListener.name);

  constructor(private readonly hooks: ExchangeConnectionHooks) {}

  onModuleInit(): void {
    this.hooks.addDisconnectListener(this);
  }

  async onExchangeDisconnected(event: ExchangeDisconnectedEvent, manager: EntityManager): Promise<void> {
    const [, stopped] = (await manager.query(
      `UPDATE bots SET status = 'stopped', stop_reason = 'exchange_disconnected', updated_at = now()
        WHERE user_id = $1 AND exchange = $2 AND mode = 'live' AND status = 'running' AND deleted_at IS NULL`,
      [event.user_id, event.exchange],
    )) as [unknown, number];
    if (stopped > 0) this.logger.log({ user_id: event.user_id, exchange: event.exchange, stopped }, 'Live bots stopped: exchange disconnected');
  }
}
