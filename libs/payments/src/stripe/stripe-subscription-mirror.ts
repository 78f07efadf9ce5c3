import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager, IsNull, Not } from 'typeorm';
import Stripe from 'stripe';
import { ProviderSubscriptionMirror, SubscriptionHooks, UserSubscription } from '@torgovo/subscriptions';
import { Payment } from '../entities/payment.entity';
import { StripeSubscriptionLink } from '../entities/stripe-subscription-link.entity';
import { StripeGateway } from './stripe-gateway';

/**
 * PATCH cancel_at_period_end and DELETE on a card subscription are made at Stripe first,
 * inside the subscriptions transaction (see ProviderSubscriptionMirror): Stripe refusing
 * leaves our row unchanged. Stripe's own webhook then confirms, as a no-op.
 */
@Injectable()
export class StripeSubscriptionMirror implements ProviderSubscriptionMirror, OnModuleInit {
  private readonly logger = new Logger(StripeSubscriptionMirror.name);

  constructor(
    private readonly hooks: SubscriptionHooks,
    private readonly gateway: StripeGateway,
  ) {}

  onModuleInit(): void {
    this.hooks.setProviderMirror(this);
  }

  async setCancelAtPeriodEnd(sub: UserSubscription, cancelAtPeriodEnd: boolean, m: EntityManager): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    if (!stripeId) return;
    await this.gateway.call('subscriptions.update', (s) => s.subscriptions.update(stripeId, { cancel_at_period_end: cancelAtPeriodEnd }));
    this.logger.log({ subscription_id: sub.id, cancel_at_period_end: cancelAtPeriodEnd }, 'cancel_at_period_end mirrored to Stripe');
  }

  async cancelNow(sub: UserSubscription, m: EntityManager): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    if (stripeId) {
      const current = await this.gateway.call('subscriptions.retrieve', (s) => s.subscriptions.retrieve(stripeId));
      if (current.status !== 'canceled' && current.status !== 'incomplete_expired') {
        await this.gateway.call('subscriptions.cancel', (s) => s.subscriptions.cancel(stripeId));
      }
      this.logger.log({ subscription_id: sub.id }, 'Cancellation mirrored to Stripe');
      return;
    }
    // No card on file yet (pending, or a trial whose Checkout is still open): close its open
    // Checkout so it cannot be paid after the cancel.
    if ((sub.status === 'pending_payment' || sub.status === 'trial') && this.gateway.enabled) await this.expireOpenCheckouts(sub.id, m);
  }

  private async stripeIdOf(sub: UserSubscription, m: EntityManager): Promise<string | null> {
    if (sub.stripe_subscription_id) return sub.stripe_subscription_id;
    const link = await m.getRepository(StripeSubscriptionLink).findOne({ where: { subscription_id: sub.id } });
    return link?.stripe_subscription_id ?? null;
  }

  private async expireOpenCheckouts(subscriptionId: string, m: EntityManager): Promise<void> {
    const open = await m.getRepository(Payment).find({
      where: { subscription_id: subscriptionId, provider: 'stripe', status: 'pending', provider_payment_id: Not(IsNull()) },
    });
    for (const p of open) {
      try {
        await this.gateway.client.checkout.sessions.expire(p.provider_payment_id as string);
      } catch (err) {
        // Already completed or expired at Stripe: a completed one is handled by its webhook.
        if (!(err instanceof Stripe.errors.StripeInvalidRequestError)) throw err;
      }
      await m.getRepository(Payment).update({ id: p.id, status: 'pending' }, { status: 'cancelled' });
    }
  }
}
