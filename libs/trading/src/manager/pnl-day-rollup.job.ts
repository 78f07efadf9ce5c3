import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, PeriodicJob } from '@torgovo/core';
import { PerformanceEngine } from '../performance/performance-engine';
import { recomputePnlDayStats } from '../performance/pnl-day-stats';
import { TradingManagerConfig } from './trading-manager.config';

/** pg_try_advisory_lock key of the PnL-by-day rollup: one replica recomputes at a time. */
export const PNL_DAY_ROLLUP_LOCK_KEY = 7_204_810;

/** Every PNL_ROLLUP_INTERVAL_SECONDS, recomputes the platform's realised PnL by day (recomputePnlDayStats). */
@Injectable()
export class PnlDayRollupJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PnlDayRollupJob.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly app: AppConfig,
    private readonly engine: PerformanceEngine,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'pnl-day-rollup', PNL_DAY_ROLLUP_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config.PNL_ROLLUP_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Rows written, or null when another replica holds the lock or the run failed (the next tick retries). Never throws. */
  async tick(): Promise<number | null> {
    try {
      const done = await this.job.exclusive(() => recomputePnlDayStats(this.ds, this.engine, this.app.env.APP_TIMEZONE));
      return done?.rows ?? null;
    } catch (err) {
      this.logger.error({ err }, 'PnL by day rollup failed');
      return null;
    }
  }
}
