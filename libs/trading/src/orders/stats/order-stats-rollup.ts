import type { DataSource, EntityManager } from 'typeorm';
import { orderStatColumnsSql } from './order-stats-sql';

/** At most this much of closed_at per step (one transaction): the first run over years of orders goes in slices. */
const SLICE = '7 days';

interface State {
  timezone: string;
}

/**
 * Adds finished orders to order_day_stats and moves order_stats_state.rolled_up_to past them, in
 * one transaction per slice. Readers add what lies past rolled_up_to from the orders themselves,
 * so this only makes the figures cheap: they are exact before, during and after a run.
 *
 * Exactly once: every closed_at is the closing transaction's now(), i.e. its start. The watermark
 * never passes the start of a transaction still running in this database (pg_stat_activity), so an
 * order committed later always has closed_at ≥ the watermark and is read live, never skipped.
 */
export class OrderStatsRollup {
  constructor(
    private readonly ds: DataSource,
    private readonly timezone: string,
  ) {}

  /** Rolls up to the safe point, in at most `maxSteps` slices. Returns the steps run. */
  async catchUp(maxSteps = 1_000): Promise<number> {
    let steps = 0;
    let more = true;
    while (more && steps < maxSteps) {
      more = await this.ds.transaction((m) => this.step(m));
      steps++;
    }
    return steps;
  }

  /** One slice; true when more slices are due now. */
  private async step(m: EntityManager): Promise<boolean> {
    const [state] = (await m.query(`SELECT timezone FROM order_stats_state WHERE id = 1 FOR UPDATE`)) as State[];
    if (state.timezone !== this.timezone) {
      // Days are days of APP_TIMEZONE: another zone means other days, so start over under it.
      await m.query(`DELETE FROM order_day_stats`);
      await m.query(`UPDATE order_stats_state SET rolled_up_to = '-infinity', timezone = $1 WHERE id = 1`, [this.timezone]);
    }
    // As text: a JS Date would drop the microseconds of the bound.
    const [{ upto, more }] = (await m.query(
      `WITH st AS (SELECT rolled_up_to FROM order_stats_state WHERE id = 1),
            b AS (
              SELECT least(clock_timestamp() - interval '1 second',
                           (SELECT min(xact_start) FROM pg_stat_activity
                             WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL)) AS safe,
                     (SELECT min(closed_at) FROM orders WHERE closed_at >= (SELECT rolled_up_to FROM st)) + interval '${SLICE}' AS slice_end)
       SELECT CASE WHEN least(b.safe, b.slice_end) > st.rolled_up_to THEN least(b.safe, b.slice_end)::text END AS upto,
              b.slice_end < b.safe AS more
         FROM b, st`,
    )) as Array<{ upto: string | null; more: boolean | null }>;
    // null: no finished order past the watermark, or none safely behind the running transactions.
    if (upto === null) return false;
    await m.query(
      `WITH st AS (SELECT rolled_up_to FROM order_stats_state WHERE id = 1)
       INSERT INTO order_day_stats AS d (day, mode, symbol, status, reason_code, orders, filled_orders, quote_volume)
       SELECT day, mode, symbol, status, reason_code, sum(orders), sum(filled_orders), sum(quote_volume)
         FROM (SELECT ${orderStatColumnsSql('o', '$1')}
                 FROM orders o
                WHERE o.closed_at >= (SELECT rolled_up_to FROM st) AND o.closed_at < $2::timestamptz) f
        GROUP BY day, mode, symbol, status, reason_code
       ON CONFLICT (day, mode, symbol, status, reason_code) DO UPDATE
          SET orders = d.orders + EXCLUDED.orders,
              filled_orders = d.filled_orders + EXCLUDED.filled_orders,
              quote_volume = d.quote_volume + EXCLUDED.quote_volume`,
      [this.timezone, upto],
    );
    await m.query(`UPDATE order_stats_state SET rolled_up_to = $1::timestamptz WHERE id = 1`, [upto]);
    return more === true;
  }
}
