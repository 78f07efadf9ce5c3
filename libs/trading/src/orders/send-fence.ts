import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SendScope, SendsSettledSource, optionalUserHooks } from '@torgovo/users';

/**
 * How long after its placement decision a send can still reach the exchange. Every live placement
 * carries OKX's expTime at sendDeadline (this bound less SEND_DEADLINE_MARGIN_MS), so OKX refuses
 * it after that however late the call left or however long it hangs (the call's own timeout is
 * 10 s; okx-client.ts). After it, a decided order — its worker slow, or dead mid-send — cannot arrive.
 */
export const SEND_SETTLE_MAX_MS = 15_000;

/** Kept between an order's deadline and the fence's bound: clock differences between the worker, PostgreSQL and OKX. */
export const SEND_DEADLINE_MARGIN_MS = 2_000;

/**
 * The latest moment the exchange may place an order decided at `decidedAt` (the worker's clock,
 * read before the decision's transaction began): sent as OKX's expTime, so a send that leaves late —
 * a worker short of CPU at a bar close — is refused by OKX itself after the bound the fence waits
 * for (SEND_SETTLE_MAX_MS from the decision), instead of relying on the call leaving in time.
 */
export function sendDeadline(decidedAt: number): number {
  return decidedAt + SEND_SETTLE_MAX_MS - SEND_DEADLINE_MARGIN_MS;
}

interface InFlightFilter {
  /** null: every user's. */
  user_ids: readonly string[] | null;
  bot_id: string | null;
  managed_bot_id: string | null;
  mode: 'live' | 'paper' | null;
  /** null: any; else only these (user, managed bot) pairs (parallel arrays). */
  follows: { users: string[]; bots: string[] } | null;
}

const NO_FILTER: InFlightFilter = { user_ids: null, bot_id: null, managed_bot_id: null, mode: null, follows: null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * "Stop answered ⇒ nothing more reaches the exchange." The placement decision (PlacementDecider)
 * share-locks the bot, user and credential and commits before the exchange call, so a stop commits
 * either before the decision (which then cancels the order) or after it — with the send possibly
 * still on its way. So whatever stops sends (bot stop or delete, key disconnect or replacement, user
 * deactivation) calls settled() after its commit and before it answers: it waits until every send
 * decided before that commit has its outcome recorded (the row leaves `submitting`), the worker
 * that decided it lost its lease, or SEND_SETTLE_MAX_MS passed since the decision (`updated_at` of a
 * confirmed claim is the decision's time). A send whose outcome is unknown (a timeout, a lost answer)
 * leaves its order `pending` with send_settles_at, the same bound: waited for too. Managed bots call it the same way when a follow ends
 * (unsubscribe, portfolio stop-loss: followsSettled) or a managed bot is paused (managedBotSettled). Usually one indexed query that finds nothing; with a send
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
    optionalUserHooks(this.moduleRef)?.addSendsSettled(this);
  }

  /** Resolves once no send decided before now for `scope` can still reach the exchange. */
  settled(scope: SendScope): Promise<void> {
    return this.wait({ ...NO_FILTER, user_ids: [scope.user_id], bot_id: scope.bot_id ?? null, managed_bot_id: scope.managed_bot_id ?? null, mode: scope.mode ?? null });
  }

  /** Followers' orders, set-wise: of these (follower, managed bot) pairs (a stop-loss ending many follows at once). */
  followsSettled(follows: ReadonlyArray<{ user_id: string; managed_bot_id: string }>): Promise<void> {
    if (follows.length === 0) return Promise.resolve();
    return this.wait({ ...NO_FILTER, follows: { users: follows.map((f) => f.user_id), bots: follows.map((f) => f.managed_bot_id) } });
  }

  /** Every follower's orders of one managed bot (it was paused). */
  managedBotSettled(managedBotId: string): Promise<void> {
    return this.wait({ ...NO_FILTER, managed_bot_id: managedBotId });
  }

  private async wait(filter: InFlightFilter): Promise<void> {
    const started = Date.now();
    let pause = 10;
    for (;;) {
      const inFlight = await this.inFlight(filter);
      if (inFlight.length === 0) return;
      if (Date.now() - started > SEND_SETTLE_MAX_MS) {
        this.logger.warn({ managed_bot_id: filter.managed_bot_id, bot_id: filter.bot_id, users: filter.user_ids?.length ?? filter.follows?.users.length ?? 'all', order_ids: inFlight }, 'Sends still unresolved after the bound; answering');
        return;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 200);
    }
  }

  private async inFlight(f: InFlightFilter): Promise<string[]> {
    const rows = (await this.ds.query(
      `SELECT id FROM orders
        WHERE ((status = 'submitting' AND sent_at IS NOT NULL AND next_attempt_at > now()
                AND updated_at > now() - $4::int * interval '1 millisecond')
               -- Waiting to be looked up after a send whose outcome is unknown: it may still arrive until then.
               OR (status = 'pending' AND send_settles_at > now()))
          AND ($1::uuid[] IS NULL OR user_id = ANY($1::uuid[]))
          AND ($2::uuid IS NULL OR bot_id = $2) AND ($3::varchar IS NULL OR mode = $3) AND ($5::uuid IS NULL OR managed_bot_id = $5)
          AND ($6::uuid[] IS NULL OR (user_id, managed_bot_id) IN (SELECT u, b FROM unnest($6::uuid[], $7::uuid[]) AS x(u, b)))
        LIMIT 20`,
      [f.user_ids, f.bot_id, f.mode, SEND_SETTLE_MAX_MS, f.managed_bot_id, f.follows?.users ?? null, f.follows?.bots ?? null],
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }
}
