import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, PeriodicJob } from '@torgovo/core';
import { OrderStatsRollup } from '../orders/stats/order-stats-rollup';
import { TradingManagerConfig } from './trading-manager.config';

/** pg_try_advisory_lock key of the order stats rollup: one replica rolls up at a time. */
export const ORDER_STATS_ROLLUP_LOCK_KEY = 7_204_800;

/** Every ORDER_STATS_ROLLUP_INTERVAL_SECONDS, adds the orders finished since the last run to order_day_stats. */
@Injectable()
export class OrderStatsRollupJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderStatsRollupJob.name);
  private readonly job: PeriodicJob;
  readonly rollup: OrderStatsRollup;

  constructor(
    @InjectDataSource() ds: DataSource,
    app: AppConfig,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'order-stats-rollup', ORDER_STATS_ROLLUP_LOCK_KEY);
    this.rollup = new OrderStatsRollup(ds, app.env.APP_TIMEZONE);
  }

  /**
   * Also on the embedded PGlite. It was kept off there when the embedded smoke test stopped answering
   * with it ticking: that branch still served PGlite through pglite-socket's own queue, which
   * interleaved the job's lock connection and transaction with the requests' extended-protocol
   * batches and stopped for good when PGlite threw (see PGliteSessionQueue). Under our session queue
   * each slice is one short transaction that owns the session; test/smoke/embedded ticks it every second.
   */
  onApplicationBootstrap(): void {
    this.job.start(this.config.ORDER_STATS_ROLLUP_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Steps run, or null when another replica holds the lock or the run failed (the next tick retries). Never throws. */
  async tick(): Promise<number | null> {
    try {
      return await this.job.exclusive(() => this.rollup.catchUp());
    } catch (err) {
      this.logger.error({ err }, 'Order stats rollup failed');
      return null;
    }
  }
}
