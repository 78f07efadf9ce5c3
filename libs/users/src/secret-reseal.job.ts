import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { CredentialResealService, ResealRun } from './credential-reseal.service';
import { SecretResealConfig } from './secret-reseal.config';

/** pg_try_advisory_lock key of the re-seal: one replica (or the CLI) re-seals at a time. */
export const SECRET_RESEAL_LOCK_KEY = 7_204_410;
/**
 * Every SECRET_RESEAL_INTERVAL_SECONDS, re-seals the stored secrets still under an old encryption key
 * in batches until none is left, and reports what remains in GET /health (CredentialResealService.run).
 * `cli reseal-secrets` runs the same under the same lock.
 */
@Injectable()
export class SecretResealJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SecretResealJob.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() ds: DataSource,
    private readonly reseal: CredentialResealService,
    @Inject(SecretResealConfig) private readonly config: SecretResealConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'secret-reseal', SECRET_RESEAL_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config.SECRET_RESEAL_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** The run, or null when another replica (or the CLI) holds the lock, or the run failed (logged; the next tick retries). Never throws. */
  async tick(): Promise<ResealRun | null> {
    try {
      return await this.job.exclusive(() => this.reseal.run(() => this.job.stopping));
    } catch (err) {
      this.logger.error({ err }, 'Secret re-seal failed');
      return null;
    }
  }
}
