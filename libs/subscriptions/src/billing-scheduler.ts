import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { withAdvisoryLock } from '@torgovo/core';
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
  private running = false;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
    private readonly sweeps: BillingSweeps,
    private readonly registry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.billing.BILLING_SWEEP_INTERVAL_SECONDS;
    if (seconds === 0) return;
    const handle = setInterval(() => void this.tick(), seconds * 1000);
    handle.unref();
    this.registry.addInterval(INTERVAL_NAME, handle);
    this.logger.log({ seconds }, 'Billing sweep scheduled');
  }

  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
  }

  /** One sweep, or null when another replica (or a slow previous tick here) holds the lock. Never throws. */
  async tick(now: Date = new Date()): Promise<BillingTickResult | null> {
    if (this.running) return null;
    this.running = true;
    const started = Date.now();
    try {
      const outcome = await withAdvisoryLock(this.ds, BILLING_SWEEP_LOCK_KEY, async () => ({
        expired: await this.sweeps.expireDue(now),
        renewals: await this.sweeps.requestRenewals(now),
      }));
      if (!outcome.ran) return null;
      const { expired, renewals } = outcome.result;
      if (expired.rows > 0 || renewals.rows > 0) {
        this.logger.log({ expired: expired.rows, renewals: renewals.rows, ms: Date.now() - started }, 'Billing sweep done');
      }
      return outcome.result;
    } catch (err) {
      // The failed batch rolled back; the next tick retries it.
      this.logger.error({ err }, 'Billing sweep failed');
      return null;
    } finally {
      this.running = false;
    }
  }
}
