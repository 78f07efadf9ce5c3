import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SendScope, SendsSettledSource, UserHooks } from '@torgovo/users';

/**
 * How long after its placement decision a send can still reach the exchange: the exchange call's
 * own timeout (ccxt, 10 s; okx-client.ts) plus a margin for the request to start (ccxt's rate
 * limiter, the event loop). After it, a decided order whose worker died mid-send cannot arrive.
 */
export const SEND_SETTLE_MAX_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * "Stop answered ⇒ nothing more reaches the exchange." The placement decision (PlacementDecider)
 * share-locks the bot, user and credential and commits before the exchange call, so a stop commits
 * either before the decision (which then cancels the order) or after it — with the send possibly
 * still on its way. So whatever stops sends (bot stop or delete, key disconnect or replacement, user
 * deactivation) calls settled() after its commit and before it answers: it waits until every send
 * decided before that commit has its outcome recorded (the row leaves `submitting`), the worker
 * that decided it lost its lease, or SEND_SETTLE_MAX_MS passed since the decision (`updated_at` of a
 * confirmed claim is the decision's time). Usually one indexed query that finds nothing; with a send
 * in flight, as long as that send: a stop stays fast and bounded, and no exchange call waits for it.
 */
@Injectable()
export class OrderSendFence implements SendsSettledSource, OnModuleInit {
  private readonly logger = new Logger(OrderSendFence.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    let hooks: UserHooks | undefined;
    try {
      hooks = this.moduleRef.get(UserHooks, { strict: false });
    } catch {
      hooks = undefined; // no UsersModule in this context: nothing disconnects keys or deactivates users here
    }
    hooks?.addSendsSettled(this);
  }

  /** Resolves once no send decided before now for `scope` can still reach the exchange. */
  async settled(scope: SendScope): Promise<void> {
    const started = Date.now();
    let pause = 10;
    for (;;) {
      const inFlight = await this.inFlight(scope);
      if (inFlight.length === 0) return;
      if (Date.now() - started > SEND_SETTLE_MAX_MS) {
        this.logger.warn({ ...scope, order_ids: inFlight }, 'Sends still unresolved after the bound; answering');
        return;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 200);
    }
  }

  private async inFlight(scope: SendScope): Promise<string[]> {
    const rows = (await this.ds.query(
      `SELECT id FROM orders
        WHERE user_id = $1 AND status = 'submitting' AND sent_at IS NOT NULL AND next_attempt_at > now()
          AND updated_at > now() - $4::int * interval '1 millisecond'
          AND ($2::uuid IS NULL OR bot_id = $2) AND ($3::varchar IS NULL OR mode = $3)
        LIMIT 20`,
      [scope.user_id, scope.bot_id ?? null, scope.mode ?? null, SEND_SETTLE_MAX_MS],
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }
}
