import type { DataSource } from 'typeorm';
import { toDecimalString } from '@torgovo/core';

export interface RevenueRow {
  /** YYYY-MM in the timezone given. */
  month: string;
  /** Plan code; profit-share and plan-less payments are grouped by kind ("profit_share"). */
  plan: string;
  payments: number;
  revenue_usd: string;
}

/**
 * Completed payments (money received: amount_usd) per month of confirmed_at in `timezone` and
 * plan, for the months [fromMonth, toMonth] (YYYY-MM). One index-only range scan of payments_completed_idx.
 */
export async function revenueByMonthAndPlan(ds: DataSource, timezone: string, fromMonth: string, toMonth: string): Promise<RevenueRow[]> {
  const rows = (await ds.query(
    `SELECT to_char(r.month, 'YYYY-MM') AS month, coalesce(p.code, r.kind) AS plan, sum(r.n)::int AS payments, sum(r.revenue)::text AS revenue_usd
       FROM (SELECT date_trunc('month', confirmed_at AT TIME ZONE $1) AS month, plan_id, kind, count(*) AS n, sum(amount_usd) AS revenue
               FROM payments
              WHERE status = 'completed'
                AND confirmed_at >= (($2 || '-01')::timestamp AT TIME ZONE $1)
                AND confirmed_at < ((($3 || '-01')::date + interval '1 month')::timestamp AT TIME ZONE $1)
              GROUP BY 1, 2, 3) r
       LEFT JOIN subscription_plans p ON p.id = r.plan_id
      GROUP BY 1, 2
      ORDER BY 1, 2`,
    [timezone, fromMonth, toMonth],
  )) as RevenueRow[];
  return rows.map((r) => ({ ...r, revenue_usd: toDecimalString(r.revenue_usd) }));
}
