import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { withAdvisoryLock } from '../database/advisory-lock';

/** The jobs of one application (keyed by its DataSource: several apps may share a process in tests). */
const jobsOf = new WeakMap<DataSource, Set<PeriodicJob>>();

/**
 * The timing of a periodic job (CONVENTIONS "Cron only triggers"): an unref'd interval registered
 * with the SchedulerRegistry under `name`, and runs that never overlap in this process and happen
 * only where pg_try_advisory_lock(lockKey) is won, so one replica works per tick.
 *
 * Shutdown in two steps. stop() (a provider's onModuleDestroy) clears the timer and marks the job
 * stopping without waiting: Nest destroys modules one at a time, and waiting here held the trading
 * manager's halt behind every job's drain (it kept claiming orders meanwhile). A run going on sees
 * `stopping` and ends at its next batch boundary. drainAll() (PeriodicJobsShutdown, before the
 * application shuts down and before the pool closes) waits for the runs, bounded.
 */
export class PeriodicJob {
  private running = false;
  private stopped = false;
  private current?: Promise<unknown>;

  constructor(
    private readonly ds: DataSource,
    private readonly registry: SchedulerRegistry,
    private readonly name: string,
    private readonly lockKey: number,
  ) {
    const jobs = jobsOf.get(ds) ?? new Set<PeriodicJob>();
    jobs.add(this);
    jobsOf.set(ds, jobs);
  }

  /** True once stop() was called: a long run (batches, sends) ends at its next boundary. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Calls `tick` every `ms`; false (nothing scheduled) when `ms` is 0. */
  start(ms: number, tick: () => Promise<unknown>): boolean {
    if (ms === 0) return false;
    const handle = setInterval(() => void tick(), ms);
    handle.unref();
    this.registry.addInterval(this.name, handle);
    return true;
  }

  /** Clears the timer and marks the job stopping (see the class comment); the run still going is waited for by drainAll. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
  }

  /** The run going on, if any, has ended. */
  async drained(): Promise<void> {
    await this.current?.catch(() => undefined);
  }

  /** Waits for every run of this application's jobs, at most `timeoutMs` (a run cut off by the pool's close rolls back and is redone later). */
  static async drainAll(ds: DataSource, timeoutMs: number): Promise<boolean> {
    const jobs = [...(jobsOf.get(ds) ?? [])];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([Promise.all(jobs.map((j) => j.drained())).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `fn` under the lock, or null when a run here is still going, the job is stopping, or another replica holds the lock. Errors propagate. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T | null> {
    if (this.running || this.stopped) return null;
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
