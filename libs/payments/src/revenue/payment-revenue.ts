import type { DataSource } from 'typeorm';
import { toDecimalString } from '@torgovo/core';

export interface RevenueRow {
  /** YYYY-MM in the timezone given. */
  month: string;
  /** Plan code; profit-share payments are grouped as "profit_share", plan-less payments by kind. */
  plan: string;
  /** Payments completed in the month, and the money they brought (gross). */
  payments: number;
  revenue_usd: string;
  /** Payments first refunded in the month (whenever they were paid), and the money returned on them (partial refunds and lost chargebacks included). */
  refunds: number;
  refunds_usd: string;
  /** revenue_usd − refunds_usd. */
  net_usd: string;
}

/** The first instant of the month of `at` in the timezone bound as $1. */
const monthStart = (at: string) => `(date_trunc('month', ${at} AT TIME ZONE $1) AT TIME ZONE $1)`;

const SUMS = 'sum(payments), sum(gross_usd), sum(refunds), sum(refunds_usd)';
const NONZERO = 'sum(payments) <> 0 OR sum(gross_usd) <> 0 OR sum(refunds) <> 0 OR sum(refunds_usd) <> 0';

/**
 * Folds payment_revenue (migration PaymentRevenueRollup: the trigger appends every payment change
 * there) into one row per month of `timezone` and plan, in one transaction. Under another timezone
 * than the one the rows were folded under, rebuilds them from payments instead (months of another
 * zone cannot be re-cut from folded rows). Lock-free towards payment writes: each statement deletes
 * exactly the rows of its snapshot and inserts their sum (or the payments of that same snapshot);
 * changes committed meanwhile stay appended. The state row's lock serializes compactions.
 */
export async function compactPaymentRevenue(ds: DataSource, timezone: string): Promise<{ rebuilt: boolean; folded: number }> {
  return ds.transaction(async (m) => {
    const [{ timezone: foldedUnder }] = (await m.query(`SELECT timezone FROM payment_revenue_state WHERE id = 1 FOR UPDATE`)) as Array<{ timezone: string }>;
    let rebuilt = false;
    let folded = 0;
    if (foldedUnder !== '' && foldedUnder !== timezone) {
      await m.query(
        `WITH gone AS (DELETE FROM payment_revenue)
         INSERT INTO payment_revenue (at, compacted, plan_id, kind, payments, gross_usd, refunds, refunds_usd)
         SELECT ${monthStart('c.at')}, true, p.plan_id, p.kind, ${SUMS}
           FROM payments p CROSS JOIN LATERAL payment_revenue_of(p.status, p.amount_usd, p.confirmed_at, p.refunded_at, p.refunded_amount) c
          GROUP BY 1, 3, 4
         HAVING ${NONZERO}`,
        [timezone],
      );
      rebuilt = true;
    } else {
      [{ folded }] = (await m.query(`SELECT count(*)::int AS folded FROM payment_revenue WHERE NOT compacted`)) as Array<{ folded: number }>;
      if (folded > 0) {
        await m.query(
          `WITH gone AS (DELETE FROM payment_revenue RETURNING *)
           INSERT INTO payment_revenue (at, compacted, plan_id, kind, payments, gross_usd, refunds, refunds_usd)
           SELECT ${monthStart('at')}, true, plan_id, kind, ${SUMS}
             FROM gone
            GROUP BY 1, 3, 4
           HAVING ${NONZERO}`,
          [timezone],
        );
      }
    }
    if (foldedUnder !== timezone) await m.query(`UPDATE payment_revenue_state SET timezone = $1 WHERE id = 1`, [timezone]);
    return { rebuilt, folded };
  });
}

/**
 * Money received (completed payments, or refunded ones, by month of confirmed_at) and refunded (by month of
 * refunded_at), per month of `timezone` and plan, for the months [fromMonth, toMonth] (YYYY-MM).
 * Reads payment_revenue: the folded months plus the changes appended since the last compaction.
 */
export async function revenueByMonthAndPlan(ds: DataSource, timezone: string, fromMonth: string, toMonth: string): Promise<RevenueRow[]> {
  const [{ timezone: foldedUnder }] = (await ds.query(`SELECT timezone FROM payment_revenue_state WHERE id = 1`)) as Array<{ timezone: string }>;
  // Folded under another APP_TIMEZONE (a changed setting): its months are not this zone's.
  if (foldedUnder !== '' && foldedUnder !== timezone) await compactPaymentRevenue(ds, timezone);
  const rows = (await ds.query(
    `SELECT to_char(r.at AT TIME ZONE $1, 'YYYY-MM') AS month,
            CASE WHEN r.kind = 'profit_share' THEN r.kind ELSE coalesce(p.code, r.kind) END AS plan,
            sum(r.payments)::int AS payments, sum(r.gross_usd)::text AS revenue_usd,
            sum(r.refunds)::int AS refunds, sum(r.refunds_usd)::text AS refunds_usd,
            (sum(r.gross_usd) - sum(r.refunds_usd))::text AS net_usd
       FROM payment_revenue r
       LEFT JOIN subscription_plans p ON p.id = r.plan_id
      WHERE r.at >= (($2 || '-01')::timestamp AT TIME ZONE $1)
        AND r.at < ((($3 || '-01')::date + interval '1 month')::timestamp AT TIME ZONE $1)
      GROUP BY 1, 2
     HAVING ${NONZERO.replace(/sum\(/g, 'sum(r.')}
      ORDER BY 1, 2`,
    [timezone, fromMonth, toMonth],
  )) as RevenueRow[];
  return rows.map((r) => ({ ...r, revenue_usd: toDecimalString(r.revenue_usd), refunds_usd: toDecimalString(r.refunds_usd), net_usd: toDecimalString(r.net_usd) }));
}
