import type { DataSource } from 'typeorm';

/** Bots not deleted, by status (one pass over bots). */
export async function botTotals(ds: DataSource): Promise<{ running: number; stopped: number }> {
  const [r] = (await ds.query(
    `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'stopped')::int AS stopped
       FROM bots WHERE deleted_at IS NULL`,
  )) as Array<{ running: number; stopped: number }>;
  return r;
}
