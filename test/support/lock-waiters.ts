import type { DataSource } from 'typeorm';

/** Polls until `n` sessions of this database (other than the poller) wait for a lock: a row lock or an advisory lock. */
export async function lockWaiters(ds: DataSource, n: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ waiting }] = (await ds.query(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    )) as Array<{ waiting: number }>;
    if (waiting >= n) return;
    if (Date.now() > deadline) throw new Error(`${waiting} of ${n} sessions waiting for a lock`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
