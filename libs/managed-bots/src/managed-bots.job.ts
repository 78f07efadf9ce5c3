import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { OrderSendFence } from '@torgovo/trading';
import { FollowerPerformanceService } from './follower-performance.service';
import { FollowClosingPrices } from './closing-prices';
import { FollowsService } from './follows.service';
import { ProfitShareSettlementService, SettlementRow } from './profit-share-settlement.service';

/** pg_try_advisory_lock key of the managed-bots job: one replica recomputes at a time (settling is safe anyway). */
export const MANAGED_BOTS_JOB_LOCK_KEY = 7_204_900;

export interface ManagedTickResult {
  recomputed: number;
  stopped: number;
  settled: SettlementRow[];
}

/**
 * Every MANAGED_BOTS_INTERVAL_SECONDS (default 60; 0 = off): recompute every active follower's
 * performance (set-based: the FIFO engine's one statement, one UPDATE), end the follows whose
 * equity fell below their stop-loss (closing what they hold), and settle the previous month in
 * APP_TIMEZONE for the follows not settled yet (a unique key makes that once per follow and month
 * even if two workers run it). A month a worker missed is settled at the next tick.
 */
@Injectable()
export class ManagedBotsJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ManagedBotsJob.name);
  private readonly job: PeriodicJob;
  private readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    scheduler: SchedulerRegistry,
    private readonly performance: FollowerPerformanceService,
    private readonly follows: FollowsService,
    private readonly settlements: ProfitShareSettlementService,
    private readonly sends: OrderSendFence,
    private readonly closingPrices: FollowClosingPrices,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'managed-bots', MANAGED_BOTS_JOB_LOCK_KEY);
    const raw = process.env.MANAGED_BOTS_INTERVAL_SECONDS ?? '60';
    const seconds = Number(raw);
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`MANAGED_BOTS_INTERVAL_SECONDS must be a whole number of seconds ≥ 0, got ${raw}`);
    this.intervalMs = seconds * 1000;
  }

  onApplicationBootstrap(): void {
    this.job.start(this.intervalMs, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** null when another replica holds the lock or the run failed (logged; the next tick retries). */
  async tick(now: Date = new Date()): Promise<ManagedTickResult | null> {
    try {
      return await this.job.exclusive(() => this.run(now));
    } catch (err) {
      this.logger.error({ err }, 'Managed bots job failed');
      return null;
    }
  }

  /** The work itself, without the lock (tests call it from two "workers" at once). */
  async run(now: Date = new Date()): Promise<ManagedTickResult> {
    const recomputed = await this.performance.recompute(null);
    const stopped = await this.stopLosses();
    const { previous, current } = await this.settlements.monthsAround(now);
    const settled = await this.settlements.settleMonth(previous, current);
    return { recomputed, stopped, settled };
  }

  /** Follows whose equity is below stop_loss_pct of their investment: ended (settled) and their positions closed. */
  private async stopLosses(): Promise<number> {
    const hit = (await this.ds.query(
      `SELECT id FROM managed_bot_follows
        WHERE status = 'active' AND stop_loss_pct IS NOT NULL AND current_balance IS NOT NULL
          AND current_balance < investment * stop_loss_pct / 100`,
    )) as Array<{ id: string }>;
    if (hit.length === 0) return 0;
    // The market price of what the closing orders will sell (live follows), read before the transaction.
    const prices = await this.closingPrices.forFollows(hit.map((h) => h.id));
    const { ended, closing } = await this.ds.transaction(async (m) => {
      // The condition again on the locked rows: a stop-loss removed or an investment topped up since
      // the read above commits first, and that follow is not ended.
      const locked = (await m.query(
        `SELECT id FROM managed_bot_follows
          WHERE id = ANY($1::uuid[]) AND status = 'active' AND stop_loss_pct IS NOT NULL AND current_balance IS NOT NULL
            AND current_balance < investment * stop_loss_pct / 100
          ORDER BY id FOR UPDATE`,
        [hit.map((h) => h.id)],
      )) as Array<{ id: string }>;
      if (locked.length === 0) return { ended: [], closing: 0 };
      return this.follows.endFollows(m, locked.map((r) => r.id), 'stop_loss', true, prices);
    });
    if (ended.length === 0) return 0;
    // As for an unsubscribe: the stop is done once no order of these follows decided before it can still arrive.
    await this.sends.followsSettled(ended);
    this.logger.warn({ follows: ended.length, closing_orders: closing }, 'Portfolio stop-loss: follows ended and their positions closed');
    return ended.length;
  }
}
