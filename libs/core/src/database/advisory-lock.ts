import type { DataSource } from 'typeorm';

/**
 * Run `fn` only if this process wins `pg_try_advisory_lock(key)`; other replicas skip the tick.
 * The lock is held on one pooled connection for the duration and always released.
 */
export async function withAdvisoryLock<T>(ds: DataSource, key: number, fn: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [key])) as Array<{ locked: boolean }>;
    if (!locked) return { ran: false };
    try {
      return { ran: true, result: await fn() };
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await runner.release();
  }
}
