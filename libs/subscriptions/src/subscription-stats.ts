import type { DataSource } from 'typeorm';
import { toDecimalString } from '@torgovo/core';

export interface PlanStatusCount {
  plan: string;
  status: string;
  subscriptions: number;
}

export interface PlanMrr {
  plan: string;
  /** Active subscriptions on the plan (trials and past_due are not paying: not counted). */
  active_subscriptions: number;
  /** USD per month: the plan's monthly price per monthly subscription + its yearly price / 12 per yearly one. */
  mrr_usd: string;
}

/** Subscriptions by plan code and status (every status, ended ones too). */
export async function subscriptionsByPlanAndStatus(ds: DataSource): Promise<PlanStatusCount[]> {
  return (await ds.query(
    `SELECT p.code AS plan, s.status, s.n::int AS subscriptions
       FROM (SELECT plan_id, status, count(*) AS n FROM user_subscriptions GROUP BY plan_id, status) s
       JOIN subscription_plans p ON p.id = s.plan_id
      ORDER BY p.sort_order, p.code, s.status`,
  )) as PlanStatusCount[];
}

/**
 * Monthly recurring revenue per plan at today's plan prices (a subscription keeps no price of its
 * own), from `active` subscriptions: trials pay nothing yet and past_due is not being paid.
 * Rounded to cents per plan.
 */
export async function mrrByPlan(ds: DataSource): Promise<PlanMrr[]> {
  const rows = (await ds.query(
    `SELECT p.code AS plan, s.n::int AS active_subscriptions,
            round(s.monthly * p.monthly_price + s.yearly * p.yearly_price / 12, 2)::text AS mrr_usd
       FROM (SELECT plan_id, count(*) AS n,
                    count(*) FILTER (WHERE billing_cycle = 'monthly') AS monthly,
                    count(*) FILTER (WHERE billing_cycle = 'yearly') AS yearly
               FROM user_subscriptions WHERE status = 'active' GROUP BY plan_id) s
       JOIN subscription_plans p ON p.id = s.plan_id
      ORDER BY p.sort_order, p.code`,
  )) as PlanMrr[];
  return rows.map((r) => ({ ...r, mrr_usd: toDecimalString(r.mrr_usd) }));
}
