import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '@torgovo/core';
import { BillingCycle, planForStripePrice } from '@torgovo/plans';
import { AuditContext, SubscriptionProviderSyncService, UserSubscription } from '@torgovo/subscriptions';

export interface BilledPrice {
  sub: Pick<UserSubscription, 'id' | 'user_id' | 'plan_id' | 'plan_type'>;
  stripeSubscriptionId: string;
  priceId: string | null;
  ctx: AuditContext;
  eventId: string;
}

/**
 * The local plan follows the price Stripe bills (a dashboard or API switch): moved to the plan of
 * the same type that sold it (planForStripePrice: any price a plan ever had, so the renewal of a
 * price an admin has since replaced still buys its plan). A price no plan of that type ever sold is
 * refused: audited as subscription.price_refused, the plan unchanged (the caller refunds an invoice for it).
 */
@Injectable()
export class StripePricePolicy {
  private readonly logger = new Logger(StripePricePolicy.name);

  constructor(
    private readonly sync: SubscriptionProviderSyncService,
    private readonly audit: AuditService,
  ) {}

  /** false: nothing to change; the new plan and cycle when changed; 'refused' for a price we do not sell. */
  async follow(m: EntityManager, b: BilledPrice): Promise<false | 'refused' | { plan_id: string; billing_cycle: BillingCycle }> {
    if (!b.priceId) return false;
    const priced = await planForStripePrice(m, b.priceId);
    if (priced && priced.plan.plan_type === b.sub.plan_type) {
      const changed = await this.sync.changePlanByProvider(b.sub.id, priced.plan, priced.cycle, b.ctx, m);
      return changed ? { plan_id: priced.plan.id, billing_cycle: priced.cycle } : false;
    }
    this.logger.error({ subscription_id: b.sub.id, price: b.priceId, event_id: b.eventId }, 'Stripe bills a price no plan of this type sells; refused');
    await this.audit.record(
      {
        event_type: 'subscription.price_refused',
        user_id: b.sub.user_id,
        actor_id: null,
        data: { subscription_id: b.sub.id, plan_id: b.sub.plan_id, price: b.priceId, stripe_subscription_id: b.stripeSubscriptionId, stripe_event_id: b.eventId, actor: 'provider' },
        ip: b.ctx.ip ?? null,
        user_agent: b.ctx.user_agent ?? null,
      },
      m,
    );
    return 'refused';
  }
}
