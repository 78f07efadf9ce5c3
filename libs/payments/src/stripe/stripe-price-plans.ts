import type { EntityManager } from 'typeorm';
import type { BillingCycle } from '@torgovo/plans';
import { SubscriptionPlan } from '@torgovo/plans';

export interface PricedPlan {
  plan: Pick<SubscriptionPlan, 'id' | 'code' | 'plan_type'>;
  cycle: BillingCycle;
}

/**
 * Our plan and cycle for a Stripe price (the plan's stripe_monthly/yearly_price_id), retired plans
 * included: their subscribers keep being billed. null = a price we do not sell, never applied.
 */
export async function planForPrice(m: EntityManager, priceId: string): Promise<PricedPlan | null> {
  const plan = await m.getRepository(SubscriptionPlan).findOne({
    where: [{ stripe_monthly_price_id: priceId }, { stripe_yearly_price_id: priceId }],
    select: { id: true, code: true, plan_type: true, stripe_monthly_price_id: true, stripe_yearly_price_id: true },
  });
  if (!plan) return null;
  return { plan: { id: plan.id, code: plan.code, plan_type: plan.plan_type }, cycle: plan.stripe_monthly_price_id === priceId ? 'monthly' : 'yearly' };
}
