import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '../scheduling/periodic-job';
import { RetentionConfig } from './retention-config';
import { RetentionRegistry } from './retention-registry';

/** pg_try_advisory_lock key of the retention sweep: one replica sweeps at a time. */
export const RETENTION_SWEEP_LOCK_KEY = 7_204_200;
const INTERVAL_NAME = 'retention-sweep';

/** Rows deleted per policy name. */
export type RetentionTickResult = Record<string, number>;

/**
 * Deletes old operational rows (webhook request log, expired duplicate claims, processed
 * provider events, expired refresh tokens, dead worker heartbeats) in batches. The timer only
 * triggers; each policy's statement picks its rows by index. Audit logs, orders and payments are
 * never purged.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(RetentionConfig) private readonly config: RetentionConfig,
    private readonly registry: RetentionRegistry,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, INTERVAL_NAME, RETENTION_SWEEP_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const minutes = this.config.RETENTION_INTERVAL_MINUTES;
    if (this.job.start(minutes * 60_000, () => this.tick())) {
      this.logger.log({ minutes, policies: this.registry.policies.map((p) => p.name) }, 'Retention sweep scheduled');
    }
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** One sweep over every policy, or null when another replica holds the lock. Never throws. */
  async tick(now: Date = new Date()): Promise<RetentionTickResult | null> {
    const started = Date.now();
    try {
      const result = await this.job.exclusive(() => this.sweep(now));
      if (!result) return null;
      const total = Object.values(result).reduce((a, b) => a + b, 0);
      if (total > 0) this.logger.log({ deleted: result, ms: Date.now() - started }, 'Retention sweep done');
      return result;
    } catch (err) {
      // The database was unreachable (the lock could not be taken): the next tick retries.
      this.logger.error({ err }, 'Retention sweep failed');
      return null;
    }
  }

  private async sweep(now: Date): Promise<RetentionTickResult> {
    const { RETENTION_BATCH: limit, RETENTION_MAX_BATCHES: maxBatches } = this.config;
    const result: RetentionTickResult = {};
    for (const policy of this.registry.policies) {
      if (this.job.stopping) break;
      let deleted = 0;
      try {
        for (let batch = 0; batch < maxBatches && !this.job.stopping; batch++) {
          const n = await policy.purgeBatch(now, limit);
          deleted += n;
          if (n < limit) break;
        }
      } catch (err) {
        // One failing policy does not stop the others; what it did delete stays deleted.
        this.logger.error({ err, policy: policy.name }, 'Retention policy failed');
      }
      result[policy.name] = deleted;
    }
    return result;
  }
}
