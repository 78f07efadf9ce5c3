import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ProviderSubscriptionMirror, SubscriptionHooks, UserSubscription } from '@torgovo/subscriptions';
import { StripeSubscriptionLink } from '../entities/stripe-subscription-link.entity';
import { StripeBillingControl } from './stripe-billing-control';
import { StripeGateway } from './stripe-gateway';
import { idOf } from './stripe-objects';

/**
 * PATCH cancel_at_period_end / auto_renew and DELETE on a card subscription are made at Stripe
 * first, inside the subscriptions transaction (see ProviderSubscriptionMirror): Stripe refusing
 * leaves our row unchanged. Stripe's own webhook then confirms, as a no-op.
 */
@Injectable()
export class StripeSubscriptionMirror implements ProviderSubscriptionMirror, OnModuleInit {
  private readonly logger = new Logger(StripeSubscriptionMirror.name);

  constructor(
    private readonly hooks: SubscriptionHooks,
    private readonly gateway: StripeGateway,
    private readonly control: StripeBillingControl,
  ) {}

  onModuleInit(): void {
    this.hooks.setProviderMirror(this);
  }

  async setCancelAtPeriodEnd(sub: UserSubscription, cancelAtPeriodEnd: boolean, m: EntityManager): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    if (!stripeId) return;
    await this.control.setCancelAtPeriodEnd(stripeId, cancelAtPeriodEnd);
    this.logger.log({ subscription_id: sub.id, cancel_at_period_end: cancelAtPeriodEnd }, 'cancel_at_period_end mirrored to Stripe');
  }

  async cancelNow(sub: UserSubscription, m: EntityManager): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    if (stripeId) {
      await this.control.cancel(stripeId, `cancel-${sub.id}`);
      this.logger.log({ subscription_id: sub.id }, 'Cancellation mirrored to Stripe');
      return;
    }
    // No card on file yet (pending, or a trial whose Checkout is still open): close its open
    // Checkout so it cannot be paid after the cancel.
    if ((sub.status !== 'pending_payment' && sub.status !== 'trial') || !this.gateway.enabled) return;
    for (const paid of await this.control.closeOpenCheckouts(m, sub.id, 'cancelled')) {
      const stripeSubId = idOf(paid.subscription);
      if (!stripeSubId) continue;
      // Paid just before this cancel, its webhook not here yet: stop that billing now. Its payment
      // stays pending for the webhook, which records it (flagged payment.unapplied, for a refund).
      await this.control.cancel(stripeSubId, `cancel-unapplied-${stripeSubId}`);
      this.logger.warn({ subscription_id: sub.id, session_id: paid.id, stripe_subscription_id: stripeSubId }, 'Checkout paid before the cancel: Stripe subscription cancelled');
    }
  }

  private async stripeIdOf(sub: UserSubscription, m: EntityManager): Promise<string | null> {
    if (sub.stripe_subscription_id) return sub.stripe_subscription_id;
    const link = await m.getRepository(StripeSubscriptionLink).findOne({ where: { subscription_id: sub.id } });
    return link?.stripe_subscription_id ?? null;
  }
}
