import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, IsNull, Not } from 'typeorm';
import type Stripe from 'stripe';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { isInvalidRequest, StripeGateway } from './stripe-gateway';

const ENDED_AT_STRIPE: readonly Stripe.Subscription.Status[] = ['canceled', 'incomplete_expired'];

const idOfPaymentIntent = (v: string | Stripe.PaymentIntent | undefined): string | null => (typeof v === 'string' ? v : (v?.id ?? null));

const isMissing = (err: unknown): boolean => isInvalidRequest(err) && err.code === 'resource_missing';
/** Stripe refuses a refund of a charge nothing is left of (refunded in full at Stripe already). */
const isAlreadyRefunded = (err: unknown): boolean => isInvalidRequest(err) && err.code === 'charge_already_refunded';

/**
 * The Stripe calls that stop (or schedule the stop of) a billing, shared by the mirror of the
 * user's choices, the webhook handlers, checkout and the Stripe outbox (cancellations, an erased
 * account's customer). Each is safe to repeat.
 */
@Injectable()
export class StripeBillingControl {
  private readonly logger = new Logger(StripeBillingControl.name);

  constructor(private readonly gateway: StripeGateway) {}

  /**
   * Cancels a Stripe subscription now; false when it had already ended there or Stripe does not know it.
   * `prorate`: the unused part of the paid period is credited to the customer's Stripe balance at once
   * (prorate + invoice_now), and Stripe takes that credit off the customer's next invoices.
   */
  async cancel(stripeSubId: string, idempotencyKey: string, opts: { prorate?: boolean } = {}): Promise<boolean> {
    return (await this.cancelWith(stripeSubId, idempotencyKey, async () => opts.prorate === true)) !== false;
  }

  /**
   * cancel() crediting the unused time only when the period under way is one `applied` knows (its
   * latest invoice paid and granted by us): 'prorated', 'cancelled' (without proration), or false.
   */
  async cancelProratingApplied(stripeSubId: string, idempotencyKey: string, applied: (invoiceId: string) => Promise<boolean>): Promise<'prorated' | 'cancelled' | false> {
    return this.cancelWith(stripeSubId, idempotencyKey, (current) => this.latestPaidAndApplied(current, applied));
  }

  private async cancelWith(stripeSubId: string, idempotencyKey: string, prorateFor: (current: Stripe.Subscription) => Promise<boolean>): Promise<'prorated' | 'cancelled' | false> {
    const current = await this.orNullIfMissing('subscriptions.retrieve', (s) => s.subscriptions.retrieve(stripeSubId));
    if (!current || ENDED_AT_STRIPE.includes(current.status)) return false;
    const prorate = await prorateFor(current);
    const params: Stripe.SubscriptionCancelParams = prorate ? { prorate: true, invoice_now: true } : {};
    await this.gateway.call('subscriptions.cancel', (s) => s.subscriptions.cancel(stripeSubId, params, { idempotencyKey }));
    return prorate ? 'prorated' : 'cancelled';
  }

  /**
   * Whether the subscription's current period is one we applied: its latest invoice is paid and
   * `applied` knows it. Proration credits the unused part of the current period, whatever paid it: a
   * renewal Stripe collected but whose invoice.paid we have not applied yet (it is refunded in full
   * when it arrives, refuse()) or one not paid at all (past due) must not be credited as well.
   */
  private async latestPaidAndApplied(current: Stripe.Subscription, applied: (invoiceId: string) => Promise<boolean>): Promise<boolean> {
    const latest = current.latest_invoice;
    const id = typeof latest === 'string' ? latest : (latest?.id ?? null);
    if (!id) return false;
    const invoice = typeof latest === 'object' && latest !== null ? latest : await this.gateway.call('invoices.retrieve', (s) => s.invoices.retrieve(id));
    return invoice.status === 'paid' && (await applied(id));
  }

  /**
   * Deletes a customer at Stripe: its email, name and saved payment methods go, and Stripe cancels
   * its subscriptions still billing. false when Stripe no longer has it (deleted before: 404 resource_missing).
   */
  async deleteCustomer(customerId: string): Promise<boolean> {
    return (await this.orNullIfMissing('customers.del', (s) => s.customers.del(customerId))) !== null;
  }

  async setCancelAtPeriodEnd(stripeSubId: string, cancelAtPeriodEnd: boolean): Promise<Stripe.Subscription> {
    return this.gateway.call('subscriptions.update', (s) => s.subscriptions.update(stripeSubId, { cancel_at_period_end: cancelAtPeriodEnd }));
  }

  /**
   * Refunds what an invoice collected, in full (what is left of it after refunds made at Stripe);
   * null when it collected nothing refundable, 'already_refunded' when Stripe has returned all of it
   * already. The idempotency key (per invoice) makes a redelivered webhook get the same refund back.
   */
  async refundInvoice(invoiceId: string, metadata: Record<string, string>): Promise<Stripe.Refund | 'already_refunded' | null> {
    const payments = await this.gateway.call('invoicePayments.list', (s) => s.invoicePayments.list({ invoice: invoiceId, status: 'paid', limit: 10 }));
    const paid = payments.data.find((p) => p.payment?.type === 'payment_intent' && p.payment.payment_intent);
    let target: Stripe.RefundCreateParams | null = paid ? { payment_intent: idOfPaymentIntent(paid.payment.payment_intent) ?? undefined } : null;
    if (!target?.payment_intent) {
      // Webhook endpoints pinned to an API version before 2025-03-31 name the payment on the invoice itself.
      const legacy = (await this.gateway.call('invoices.retrieve', (s) => s.invoices.retrieve(invoiceId))) as unknown as { payment_intent?: unknown; charge?: unknown };
      const pi = typeof legacy.payment_intent === 'string' ? legacy.payment_intent : null;
      const charge = typeof legacy.charge === 'string' ? legacy.charge : null;
      target = pi ? { payment_intent: pi } : charge ? { charge } : null;
    }
    if (!target) return null;
    const params = { ...target, metadata };
    try {
      return await this.gateway.call('refunds.create', (s) => s.refunds.create(params, { idempotencyKey: `refund-${invoiceId}` }), isAlreadyRefunded);
    } catch (err) {
      if (isAlreadyRefunded(err)) return 'already_refunded';
      throw err;
    }
  }

  /**
   * Expires the subscription's open Checkout Sessions so none can be paid any more, and marks
   * their pending payments `as` (returned in `closed`). A session found already paid (its webhook
   * not here yet) keeps its payment pending for that webhook and is returned in `paid`: its Stripe
   * subscription exists.
   */
  async closeOpenCheckouts(m: EntityManager, subscriptionId: string, as: 'cancelled' | 'expired'): Promise<{ closed: string[]; paid: Stripe.Checkout.Session[] }> {
    const open = await m.getRepository(Payment).find({
      where: { subscription_id: subscriptionId, provider: 'stripe', status: 'pending', provider_payment_id: Not(IsNull()) },
    });
    const paid: Stripe.Checkout.Session[] = [];
    const closed: string[] = [];
    for (const p of open) {
      const completed = await this.expireCheckout(p.provider_payment_id as string);
      if (completed) paid.push(completed);
      else if ((await m.getRepository(Payment).update({ id: p.id, status: 'pending' }, { status: as })).affected) closed.push(p.id);
    }
    return { closed, paid };
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
