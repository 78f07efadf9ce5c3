import type { DataSource } from 'typeorm';

/**
 * Flags a worker's watchdog raises for the admins (health_flags): GET /health shows them under
 * `details.alerts`. Set wholesale by the one job that owns each name; read by the health check.
 */
export interface HealthFlag {
  name: string;
  raised: boolean;
  details: Record<string, unknown>;
  /** When the current alert began; null while the flag is down. */
  raised_at: Date | null;
  checked_at: Date;
}

/** Writes the flag's state; answers whether it went up (down → up) with this write, for the caller's log. */
export async function setHealthFlag(ds: DataSource, name: string, raised: boolean, details: Record<string, unknown>): Promise<{ wentUp: boolean; raisedAt: Date | null }> {
  const rows = (await ds.query(
    `WITH prev AS (SELECT raised FROM health_flags WHERE name = $1)
     INSERT INTO health_flags AS f (name, raised, details, raised_at, checked_at)
     VALUES ($1, $2, $3::jsonb, CASE WHEN $2 THEN now() END, now())
     ON CONFLICT (name) DO UPDATE SET raised = EXCLUDED.raised, details = EXCLUDED.details, checked_at = now(),
            raised_at = CASE WHEN NOT EXCLUDED.raised THEN NULL ELSE coalesce(f.raised_at, now()) END
     RETURNING f.raised_at, NOT coalesce((SELECT raised FROM prev), false) AND f.raised AS went_up`,
    [name, raised, JSON.stringify(details)],
  )) as Array<{ raised_at: Date | null; went_up: boolean }>;
  return { wentUp: rows[0].went_up, raisedAt: rows[0].raised_at };
}

export async function readHealthFlags(ds: DataSource): Promise<HealthFlag[]> {
  return (await ds.query(`SELECT name, raised, details, raised_at, checked_at FROM health_flags ORDER BY name`)) as HealthFlag[];
}
