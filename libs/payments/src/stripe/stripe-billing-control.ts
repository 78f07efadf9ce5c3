import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, IsNull, Not } from 'typeorm';
import type Stripe from 'stripe';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { isInvalidRequest, StripeGateway } from './stripe-gateway';

const ENDED_AT_STRIPE: readonly Stripe.Subscription.Status[] = ['canceled', 'incomplete_expired'];

const isMissing = (err: unknown): boolean => isInvalidRequest(err) && err.code === 'resource_missing';

/**
 * The Stripe calls that stop (or schedule the stop of) a billing, shared by the mirror of the
 * user's choices, the webhook handlers, checkout and the cancellation outbox. Each is safe to repeat.
 */
@Injectable()
export class StripeBillingControl {
  private readonly logger = new Logger(StripeBillingControl.name);

  constructor(private readonly gateway: StripeGateway) {}

  /** Cancels a Stripe subscription now; false when it had already ended there or Stripe does not know it. */
  async cancel(stripeSubId: string, idempotencyKey: string): Promise<boolean> {
    const current = await this.orNullIfMissing('subscriptions.retrieve', (s) => s.subscriptions.retrieve(stripeSubId));
    if (!current || ENDED_AT_STRIPE.includes(current.status)) return false;
    await this.gateway.call('subscriptions.cancel', (s) => s.subscriptions.cancel(stripeSubId, {}, { idempotencyKey }));
    return true;
  }

  async setCancelAtPeriodEnd(stripeSubId: string, cancelAtPeriodEnd: boolean): Promise<void> {
    await this.gateway.call('subscriptions.update', (s) => s.subscriptions.update(stripeSubId, { cancel_at_period_end: cancelAtPeriodEnd }));
  }

  /**
   * Expires the subscription's open Checkout Sessions so none can be paid any more, and marks
   * their pending payments `as`. A session found already paid (its webhook not here yet) keeps
   * its payment pending for that webhook and is returned: its Stripe subscription exists.
   */
  async closeOpenCheckouts(m: EntityManager, subscriptionId: string, as: 'cancelled' | 'expired'): Promise<Stripe.Checkout.Session[]> {
    const open = await m.getRepository(Payment).find({
      where: { subscription_id: subscriptionId, provider: 'stripe', status: 'pending', provider_payment_id: Not(IsNull()) },
    });
    const paid: Stripe.Checkout.Session[] = [];
    for (const p of open) {
      const completed = await this.expireCheckout(p.provider_payment_id as string);
      if (completed) paid.push(completed);
      else await m.getRepository(Payment).update({ id: p.id, status: 'pending' }, { status: as });
    }
    return paid;
  }

  /** null when the session is now expired (by this call or before) or unknown; the session when it was completed. */
  private async expireCheckout(sessionId: string): Promise<Stripe.Checkout.Session | null> {
    try {
      await this.gateway.call('checkout.sessions.expire', (s) => s.checkout.sessions.expire(sessionId), isInvalidRequest);
      return null;
    } catch (err) {
      if (!isInvalidRequest(err)) throw err;
    }
    // Refused: no longer open (Stripe's error carries no code for that) or unknown. Its state says which.
    const session = await this.orNullIfMissing('checkout.sessions.retrieve', (s) => s.checkout.sessions.retrieve(sessionId));
    if (session?.status === 'open') {
      this.logger.error({ session_id: sessionId }, 'Stripe refused to expire an open Checkout Session');
      throw PaymentErrors.provider();
    }
    return session?.status === 'complete' ? session : null;
  }

  private async orNullIfMissing<T>(what: string, fn: (stripe: Stripe) => Promise<T>): Promise<T | null> {
    try {
      return await this.gateway.call(what, fn, isMissing);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }
}
