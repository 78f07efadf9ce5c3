import type { EntityManager } from 'typeorm';
import { SubscriptionPlan } from './entities/subscription-plan.entity';
import { PlanErrors } from './errors';
import { BillingCycle } from './plan-types';

export interface StripePricePlan {
  plan: Pick<SubscriptionPlan, 'id' | 'code' | 'plan_type'>;
  cycle: BillingCycle;
}

const FIELDS: ReadonlyArray<[BillingCycle, 'stripe_monthly_price_id' | 'stripe_yearly_price_id']> = [
  ['monthly', 'stripe_monthly_price_id'],
  ['yearly', 'stripe_yearly_price_id'],
];

/**
 * Records the price ids a create or PATCH gives the plan in plan_stripe_prices, in its transaction
 * (only the given ones: a PATCH of the name is not refused for a price recorded before). A price belongs to one plan and cycle forever: one another plan (or the other cycle)
 * ever had is 409, since its subscribers' renewals would then buy this plan. Insert-or-nothing,
 * then read: a concurrent PATCH giving the same price to another plan waits on the key and loses.
 */
export async function recordStripePrices(
  m: EntityManager,
  planId: string,
  given: { stripe_monthly_price_id?: string | null; stripe_yearly_price_id?: string | null },
): Promise<void> {
  for (const [cycle, field] of FIELDS) {
    const priceId = given[field];
    // null clears the column: the plan stops selling that cycle; the price stays recorded for its subscribers.
    if (priceId === null || priceId === undefined) continue;
    await m.query(`INSERT INTO plan_stripe_prices (price_id, plan_id, billing_cycle) VALUES ($1, $2, $3) ON CONFLICT (price_id) DO NOTHING`, [priceId, planId, cycle]);
    const [owner] = (await m.query(`SELECT plan_id, billing_cycle FROM plan_stripe_prices WHERE price_id = $1`, [priceId])) as Array<{ plan_id: string; billing_cycle: string }>;
    if (owner.plan_id !== planId || owner.billing_cycle !== cycle) throw PlanErrors.stripePriceTaken(field, priceId);
  }
}

/**
 * The plan and cycle a Stripe price was sold for, retired plans and replaced prices included (their
 * subscribers keep being billed it). null: a price no plan of ours ever sold.
 */
export async function planForStripePrice(m: EntityManager, priceId: string): Promise<StripePricePlan | null> {
  const [row] = (await m.query(
    `SELECT p.id, p.code, p.plan_type, s.billing_cycle FROM plan_stripe_prices s JOIN subscription_plans p ON p.id = s.plan_id WHERE s.price_id = $1`,
    [priceId],
  )) as Array<{ id: string; code: string; plan_type: SubscriptionPlan['plan_type']; billing_cycle: BillingCycle }>;
  return row ? { plan: { id: row.id, code: row.code, plan_type: row.plan_type }, cycle: row.billing_cycle } : null;
}
