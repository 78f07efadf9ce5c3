import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { AppConfig, envInt, loadEnvSection, PeriodicJob } from '@torgovo/core';
import { compactPaymentRevenue } from './payment-revenue';

/** pg_try_advisory_lock key of the revenue compaction: one replica folds at a time. */
export const PAYMENT_REVENUE_COMPACT_LOCK_KEY = 7_204_630;

export class PaymentRevenueConfig {
  /** Seconds between foldings of payment_revenue; 0 = never (the figures stay exact, the table grows by a row per payment change). */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  PAYMENT_REVENUE_COMPACT_INTERVAL_SECONDS = 300;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): PaymentRevenueConfig {
    return loadEnvSection(PaymentRevenueConfig, env);
  }
}

/** Folds the payment changes appended since the last run into monthly rows (compactPaymentRevenue). */
@Injectable()
export class PaymentRevenueCompactionJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PaymentRevenueCompactionJob.name);
  private readonly job: PeriodicJob;
  private readonly config = PaymentRevenueConfig.fromEnv(process.env);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly app: AppConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'payment-revenue-compaction', PAYMENT_REVENUE_COMPACT_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config.PAYMENT_REVENUE_COMPACT_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Rows folded, or null when another replica holds the lock or the run failed (the next tick retries). Never throws. */
  async tick(): Promise<number | null> {
    try {
      const done = await this.job.exclusive(() => compactPaymentRevenue(this.ds, this.app.env.APP_TIMEZONE));
      return done?.folded ?? null;
    } catch (err) {
      this.logger.error({ err }, 'Payment revenue compaction failed');
      return null;
    }
  }
}
