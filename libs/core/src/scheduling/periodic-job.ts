import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { withAdvisoryLock } from '../database/advisory-lock';

/**
 * The timing of a periodic job (CONVENTIONS "Cron only triggers"): an unref'd interval registered
 * with the SchedulerRegistry under `name`, and runs that never overlap in this process and happen
 * only where pg_try_advisory_lock(lockKey) is won, so one replica works per tick.
 */
export class PeriodicJob {
  private running = false;

  constructor(
    private readonly ds: DataSource,
    private readonly registry: SchedulerRegistry,
    private readonly name: string,
    private readonly lockKey: number,
  ) {}

  /** Calls `tick` every `ms`; false (nothing scheduled) when `ms` is 0. */
  start(ms: number, tick: () => Promise<unknown>): boolean {
    if (ms === 0) return false;
    const handle = setInterval(() => void tick(), ms);
    handle.unref();
    this.registry.addInterval(this.name, handle);
    return true;
  }

  stop(): void {
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
  }

  /** `fn` under the lock, or null when a run here is still going or another replica holds the lock. Errors propagate. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T | null> {
    if (this.running) return null;
    this.running = true;
    try {
      const outcome = await withAdvisoryLock(this.ds, this.lockKey, fn);
      return outcome.ran ? outcome.result : null;
    } finally {
      this.running = false;
    }
  }
}
