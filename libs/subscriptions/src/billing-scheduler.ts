import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { BillingConfig } from './billing-config';
import { BillingSweeps, SweepResult } from './billing-sweeps';

/** pg_try_advisory_lock key of the billing sweep: one replica sweeps per tick. */
export const BILLING_SWEEP_LOCK_KEY = 7_204_100;
const INTERVAL_NAME = 'billing-sweep';

export interface BillingTickResult {
  expired: SweepResult;
  renewals: SweepResult;
}

/** The timer only triggers; BillingSweeps claims the rows (CONVENTIONS "Cron only triggers"). */
@Injectable()
export class BillingScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BillingScheduler.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
    private readonly sweeps: BillingSweeps,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, INTERVAL_NAME, BILLING_SWEEP_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const seconds = this.billing.BILLING_SWEEP_INTERVAL_SECONDS;
    if (this.job.start(seconds * 1000, () => this.tick())) this.logger.log({ seconds }, 'Billing sweep scheduled');
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** One sweep, or null when another replica (or a slow previous tick here) holds the lock. Never throws. */
  async tick(now: Date = new Date()): Promise<BillingTickResult | null> {
    const started = Date.now();
    try {
      const result = await this.job.exclusive(async () => ({
        expired: await this.sweeps.expireDue(now),
        renewals: await this.sweeps.requestRenewals(now),
      }));
      if (!result) return null;
      const { expired, renewals } = result;
      if (expired.rows > 0 || renewals.rows > 0) {
        this.logger.log({ expired: expired.rows, renewals: renewals.rows, ms: Date.now() - started }, 'Billing sweep done');
      }
      return result;
    } catch (err) {
      // The failed batch rolled back; the next tick retries it.
      this.logger.error({ err }, 'Billing sweep failed');
      return null;
    }
  }
}
