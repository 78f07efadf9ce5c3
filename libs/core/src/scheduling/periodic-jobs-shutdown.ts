import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { PeriodicJob } from './periodic-job';

/** How long shutdown waits for periodic runs still going (each ends at its next batch boundary). */
export const PERIODIC_JOBS_DRAIN_MS = 20_000;

/**
 * The second step of the periodic jobs' shutdown (periodic-job.ts): after every module's
 * onModuleDestroy (timers cleared, jobs stopping, the trading manager halted) and before the pool
 * closes (onApplicationShutdown), wait for the runs still going.
 */
@Injectable()
export class PeriodicJobsShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PeriodicJobsShutdown.name);

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async beforeApplicationShutdown(): Promise<void> {
    if (!(await PeriodicJob.drainAll(this.ds, PERIODIC_JOBS_DRAIN_MS))) {
      this.logger.warn({ waited_ms: PERIODIC_JOBS_DRAIN_MS }, 'Periodic jobs still running at shutdown; their open transactions roll back and are redone by the next run');
    }
  }
}
