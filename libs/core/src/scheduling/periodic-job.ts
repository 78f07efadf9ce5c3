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
  private current?: Promise<unknown>;

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

  /** Clears the timer and waits for a run still going, so shutdown never closes the pool under it. */
  async stop(): Promise<void> {
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
    await this.current?.catch(() => undefined);
  }

  /** `fn` under the lock, or null when a run here is still going or another replica holds the lock. Errors propagate. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T | null> {
    if (this.running) return null;
    this.running = true;
    try {
      const run = withAdvisoryLock(this.ds, this.lockKey, fn);
      this.current = run;
      const outcome = await run;
      return outcome.ran ? outcome.result : null;
    } finally {
      this.running = false;
      this.current = undefined;
    }
  }
}
