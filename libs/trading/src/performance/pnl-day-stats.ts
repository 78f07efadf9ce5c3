import type { DataSource } from 'typeorm';
import { toDecimalString } from '@torgovo/core';
import { USD_QUOTES } from '../orders/stats/order-stats-sql';
import type { PerformanceEngine } from './performance-engine';

export interface PnlDayRow {
  day: string;
  /** Realised PnL of the trades closed that day, on symbols quoted in a USD stablecoin. */
  realised_pnl_usd: string;
}

export interface PnlByDay {
  /** When the figures were computed (they count the fills up to then); null = not yet under this timezone. */
  computed_at: string | null;
  by_day: PnlDayRow[];
}

/**
 * Recomputes pnl_day_stats (migration PnlDayStats) from the FIFO engine over every book: one
 * engine statement (set-based, all history: FIFO needs it), then the table replaced in one short
 * transaction, so readers see the old figures or the new ones, never a mix.
 */
export async function recomputePnlDayStats(ds: DataSource, engine: PerformanceEngine, timezone: string): Promise<{ rows: number }> {
  const [{ started }] = (await ds.query(`SELECT now() AS started`)) as Array<{ started: Date }>;
  const figures = await engine.compute({ all: true, groupBy: 'quote', timezone });
  const rows = figures.flatMap((f) => f.daily.map((d) => ({ day: d.day, mode: f.mode, quote: f.group, pnl: d.realised_pnl, volume: d.volume })));
  await ds.transaction(async (m) => {
    await m.query(`DELETE FROM pnl_day_stats`);
    await m.query(
      `INSERT INTO pnl_day_stats (day, mode, quote_currency, realised_pnl, volume)
       SELECT * FROM unnest($1::date[], $2::varchar[], $3::varchar[], $4::numeric[], $5::numeric[])`,
      [rows.map((r) => r.day), rows.map((r) => r.mode), rows.map((r) => r.quote), rows.map((r) => r.pnl), rows.map((r) => r.volume)],
    );
    await m.query(`UPDATE pnl_day_stats_state SET computed_at = $1, timezone = $2 WHERE id = 1`, [started, timezone]);
  });
  return { rows: rows.length };
}

/** Realised PnL in USD per day of [from, to] (every day, zeros included), from pnl_day_stats. */
export async function pnlByDay(ds: DataSource, r: { timezone: string; from: string; to: string; mode?: string }): Promise<PnlByDay> {
  const rows = (await ds.query(
    `WITH st AS (SELECT computed_at FROM pnl_day_stats_state WHERE id = 1 AND timezone = $1)
     SELECT to_char(d.day, 'YYYY-MM-DD') AS day, coalesce(sum(p.realised_pnl), 0)::text AS realised_pnl_usd,
            (SELECT computed_at FROM st) AS computed_at
       FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
       LEFT JOIN pnl_day_stats p
         ON p.day = d.day::date AND EXISTS (SELECT 1 FROM st)
        AND p.quote_currency = ANY($5::varchar[]) AND ($4::text IS NULL OR p.mode = $4)
      GROUP BY d.day ORDER BY d.day`,
    [r.timezone, r.from, r.to, r.mode ?? null, [...USD_QUOTES]],
  )) as Array<{ day: string; realised_pnl_usd: string; computed_at: Date | null }>;
  const computed = rows[0]?.computed_at ?? null;
  return {
    computed_at: computed ? computed.toISOString() : null,
    by_day: rows.map((x) => ({ day: x.day, realised_pnl_usd: toDecimalString(x.realised_pnl_usd) })),
  };
}
