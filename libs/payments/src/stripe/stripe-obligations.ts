import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager, IsNull } from 'typeorm';
import type Stripe from 'stripe';
import { AuditService, Decimal } from '@torgovo/core';
import {
  actorOf,
  AuditContext,
  endsAtPeriodEnd,
  ProviderSubscriptionMirror,
  SubscriptionEndedEvent,
  SubscriptionEndListener,
  SubscriptionHooks,
  TERMINAL_STATUSES,
  UserSubscription,
} from '@torgovo/subscriptions';
import { Payment } from '../entities/payment.entity';
import { PaymentRefunds } from '../payment-refunds';
import { StripeSubscriptionLink } from '../entities/stripe-subscription-link.entity';
import { StripeBillingControl } from './stripe-billing-control';
import { StripeGateway } from './stripe-gateway';
import { idOf, minorToDecimal } from './stripe-objects';

/**
 * Queues, set-wise and in the sweep's own transaction, the Stripe subscriptions still billing the
 * subscriptions our side just ended; StripeCancelOutboxWorker cancels them after the commit, so the
 * sweep never waits on Stripe. One known to have ended at Stripe is not queued.
 */
const ENQUEUE_CANCEL_SQL = `
  INSERT INTO stripe_cancel_outbox (stripe_subscription_id, subscription_id, reason)
  SELECT l.stripe_subscription_id, l.subscription_id, e.reason
    FROM unnest($1::uuid[], $2::text[]) AS e(subscription_id, reason)
    JOIN stripe_subscriptions l ON l.subscription_id = e.subscription_id
   WHERE l.retired_at IS NULL AND (l.status IS NULL OR l.status NOT IN ('canceled', 'incomplete_expired'))
  ON CONFLICT (stripe_subscription_id) DO NOTHING`;

/** Money Stripe collected that none of our subscriptions can take. */
export interface RefusedMoney {
  sub: Pick<UserSubscription, 'id' | 'user_id'>;
  stripeSubscriptionId: string;
  invoiceId: string;
  /** What the invoice collected, in cents. */
  amountMinor: number;
  /** Why it cannot be applied (a domain error code, second_stripe_subscription, unknown_price…). */
  code: string;
  /** Our subscription is over (or this is a second Stripe billing of it): Stripe must stop billing. */
  stopBilling: boolean;
  ctx: AuditContext;
  eventId: string;
}

/**
 * What we owe Stripe when a subscription of ours changes state: the one place that calls Stripe
 * for our own transitions (the webhook handlers only apply Stripe's state to ours).
 *
 * | our transition                                   | what Stripe gets                                                             |
 * | ------------------------------------------------ | ---------------------------------------------------------------------------- |
 * | auto_renew / cancel_at_period_end changed        | linked: cancel_at_period_end = endsAtPeriodEnd(sub); not linked yet: at link |
 * | a Stripe subscription linked (Checkout, 1st event) | the renewal choice made before it existed; its state_at moves to now        |
 * | cancelled now (DELETE)                           | linked: cancelled now; open Checkout Sessions expired (one paid meanwhile:   |
 * |                                                  | its subscription cancelled, its money refunded when its invoice arrives)     |
 * | replaced by a paid plan change                   | the old Stripe subscription cancelled, unused time credited (proration)     |
 * | ended by the billing sweep (or the provider)     | the cancellation outbox (onSubscriptionsEnded → worker, after commit)        |
 * | money that cannot be applied                     | refunded in full (once per invoice), Stripe billing stopped if ours is over  |
 *
 * (An erased account's Stripe customer is not a subscription's: stripe-customers.ts queues it for the
 * same outbox job.)
 *
 * Every call runs inside the transaction that makes our change, before commit: Stripe refusing
 * rolls our change back (the request answers 502, a webhook is redelivered), and each call carries
 * an idempotency key or is a repeatable update.
 */
@Injectable()
export class StripeObligations implements ProviderSubscriptionMirror, SubscriptionEndListener, OnModuleInit {
  private readonly logger = new Logger(StripeObligations.name);

  constructor(
    private readonly hooks: SubscriptionHooks,
    private readonly gateway: StripeGateway,
    private readonly control: StripeBillingControl,
    private readonly audit: AuditService,
    private readonly refunds: PaymentRefunds,
  ) {}

  onModuleInit(): void {
    this.hooks.setProviderMirror(this);
    this.hooks.addEndListener(this);
  }

  async onSubscriptionsEnded(events: SubscriptionEndedEvent[], manager: EntityManager): Promise<void> {
    if (events.length === 0) return;
    await manager.query(ENQUEUE_CANCEL_SQL, [events.map((e) => e.subscription_id), events.map((e) => e.reason)]);
  }

  async setCancelAtPeriodEnd(sub: UserSubscription, cancelAtPeriodEnd: boolean, m: EntityManager): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    // Not linked yet (pending, or a trial without its card): linked() sends the choice then.
    if (!stripeId) return;
    await this.pushRenewalChoice(m, stripeId, cancelAtPeriodEnd);
    this.logger.log({ subscription_id: sub.id, cancel_at_period_end: cancelAtPeriodEnd }, 'Renewal choice mirrored to Stripe');
  }

  async cancelNow(sub: UserSubscription, m: EntityManager, ctx: AuditContext = {}): Promise<void> {
    const stripeId = await this.stripeIdOf(sub, m);
    if (stripeId) {
      await this.control.cancel(stripeId, `cancel-${sub.id}`);
      await this.record(m, 'payment.stripe_cancelled', sub, ctx, { stripe_subscription_id: stripeId, reason: 'cancelled_by_user' });
      return;
    }
    // No card on file yet (pending, or a trial whose Checkout is still open): close its open
    // Checkout so it cannot be paid after the cancel.
    if ((sub.status !== 'pending_payment' && sub.status !== 'trial') || !this.gateway.enabled) return;
    await this.closeCheckouts(m, sub, 'cancelled', ctx);
  }

  /**
   * Closes the subscription's open Checkout Sessions before anything replaces or ends them. Returns
   * the sessions found already paid (their webhook not here yet); a cancel stops their billing at once.
   */
  async closeCheckouts(m: EntityManager, sub: Pick<UserSubscription, 'id' | 'user_id' | 'status'>, as: 'cancelled' | 'expired', ctx: AuditContext): Promise<string[]> {
    const { closed, paid } = await this.control.closeOpenCheckouts(m, sub.id, as);
    if (closed.length > 0) await this.record(m, 'payment.checkout_closed', sub, ctx, { payment_ids: closed, as });
    const paidSubs: string[] = [];
    for (const session of paid) {
      const stripeSubId = idOf(session.subscription);
      if (!stripeSubId) continue;
      paidSubs.push(stripeSubId);
      if (as !== 'cancelled') continue;
      // Paid just before this cancel, its webhook not here yet: stop that billing now. Its payment
      // stays pending for the webhook, which refunds it (refuse()).
      await this.control.cancel(stripeSubId, `cancel-unapplied-${stripeSubId}`);
      await this.record(m, 'payment.stripe_cancelled', sub, ctx, { stripe_subscription_id: stripeSubId, session_id: session.id, reason: 'paid_after_cancel' });
    }
    return paidSubs;
  }

  /** A Stripe subscription was just linked to ours: Stripe gets the renewal choice the user made before it existed. */
  async linked(m: EntityManager, sub: UserSubscription, stripeSubId: string, ctx: AuditContext): Promise<void> {
    // A subscription already over owes Stripe a cancellation instead (closeCheckouts, refuse).
    if (!endsAtPeriodEnd(sub) || TERMINAL_STATUSES.includes(sub.status)) return;
    await this.pushRenewalChoice(m, stripeSubId, true);
    await this.record(m, 'payment.stripe_renewal_choice', sub, ctx, { stripe_subscription_id: stripeSubId, cancel_at_period_end: true, reason: 'chosen_before_link' });
  }

  /** A Stripe subscription no longer pays for ours (its first payment failed): cancelled, so it never charges later. */
  async retired(m: EntityManager, sub: Pick<UserSubscription, 'id' | 'user_id'>, stripeSubId: string, reason: string, ctx: AuditContext): Promise<void> {
    const cancelled = await this.control.cancel(stripeSubId, `cancel-retired-${stripeSubId}`);
    if (cancelled) await this.record(m, 'payment.stripe_cancelled', sub, ctx, { stripe_subscription_id: stripeSubId, reason });
  }

  /**
   * A paid plan change replaced a Stripe-billed plan: stop billing it, crediting its unused time to
   * the customer's Stripe balance — only when the period under way is one we applied (its invoice
   * paid and granted here). A renewal Stripe collected just before the change, its invoice.paid not
   * here yet, was credited by the proration and then refunded in full when it arrived (refuse()):
   * paid back twice. Such a period, or an unpaid one, is cancelled without proration; the late
   * invoice is refunded once.
   */
  async replaced(m: EntityManager, replaced: Pick<UserSubscription, 'id' | 'user_id'>, ctx: AuditContext): Promise<void> {
    const old = await m.getRepository(StripeSubscriptionLink).findOne({ where: { subscription_id: replaced.id, retired_at: IsNull() } });
    if (!old) return;
    const applied = async (invoiceId: string) =>
      ((await m.query(`SELECT 1 FROM subscription_periods WHERE provider = 'stripe' AND payment_reference = $1`, [invoiceId])) as unknown[]).length > 0;
    const cancelled = await this.control.cancelProratingApplied(old.stripe_subscription_id, `cancel-replaced-${replaced.id}`, applied);
    if (cancelled) {
      await this.record(m, 'payment.stripe_cancelled', replaced, ctx, {
        stripe_subscription_id: old.stripe_subscription_id,
        reason: 'replaced',
        proration: cancelled === 'prorated' ? 'credit_unused_time' : 'none_current_period_not_applied',
      });
    }
  }

  /**
   * Money that cannot be applied: refunded at Stripe in full, once per invoice, and recorded on its
   * payment row through PaymentRefunds (the one path of every refund, whoever made it), with a
   * payment.unapplied and a payment.refunded audit row; its Stripe billing is cancelled when our
   * subscription is over or this is a second billing of it. Money Stripe has already returned (a
   * refund made in its dashboard before this invoice reached us) is not refunded again.
   */
  async refuse(m: EntityManager, f: RefusedMoney): Promise<'refunded' | 'already_refused' | 'already_refunded' | 'nothing_to_refund'> {
    const payments = m.getRepository(Payment);
    const row = await payments.findOne({ where: { stripe_invoice_id: f.invoiceId } });
    if (row?.failure_reason?.startsWith('unapplied:')) return 'already_refused';
    const cancelled = f.stopBilling && (await this.control.cancel(f.stripeSubscriptionId, `cancel-unapplied-${f.stripeSubscriptionId}`));
    let refund: Stripe.Refund | 'already_refunded' | null = null;
    if (row?.refunded_amount && new Decimal(row.refunded_amount).gte(row.amount_usd)) refund = 'already_refunded';
    else if (f.amountMinor > 0) refund = await this.control.refundInvoice(f.invoiceId, { invoice_id: f.invoiceId, subscription_id: f.sub.id, reason: f.code });
    const made = refund === 'already_refunded' ? null : refund;
    const amount = minorToDecimal(f.amountMinor);
    const base = { subscription_id: f.sub.id, payment_id: row?.id ?? null, invoice_id: f.invoiceId, stripe_subscription_id: f.stripeSubscriptionId, stripe_event_id: f.eventId };
    if (row) {
      await payments.update({ id: row.id }, { failure_reason: `unapplied: ${f.code}`.slice(0, 255) });
      if (made) {
        await this.refunds.record(m, {
          paymentId: row.id,
          refunded: { added: minorToDecimal(made.amount) },
          refundId: made.id,
          cause: 'unapplied',
          at: new Date(),
          ctx: f.ctx,
          eventId: f.eventId,
          data: { code: f.code, stripe_subscription_id: f.stripeSubscriptionId, refund_status: made.status },
        });
      }
    } else if (made) {
      await this.record(m, 'payment.refunded', f.sub, f.ctx, { ...base, refund_id: made.id, amount, refund_status: made.status });
    }
    if (f.amountMinor > 0 && !refund) this.logger.error({ subscription_id: f.sub.id, invoice_id: f.invoiceId }, 'Stripe names no payment for a paid invoice: refund it by hand');
    this.logger.warn({ subscription_id: f.sub.id, invoice_id: f.invoiceId, code: f.code, stripe_cancelled: cancelled, refund_id: made?.id ?? null, already_refunded: refund === 'already_refunded' }, 'Stripe payment could not be applied; refunded');
    await this.record(m, 'payment.unapplied', f.sub, f.ctx, { ...base, code: f.code, amount, stripe_cancelled: cancelled, refund_id: made?.id ?? null, ...(refund === 'already_refunded' ? { already_refunded: true } : {}) });
    return made ? 'refunded' : refund === 'already_refunded' ? 'already_refunded' : 'nothing_to_refund';
  }

  /** Our write is now Stripe's newest state: an older event is re-read from Stripe, never applied over it. */
  private async pushRenewalChoice(m: EntityManager, stripeSubId: string, cancelAtPeriodEnd: boolean): Promise<void> {
    const updated = await this.control.setCancelAtPeriodEnd(stripeSubId, cancelAtPeriodEnd);
    await m.query(
      `UPDATE stripe_subscriptions SET cancel_at_period_end = $2, status = $3, state_at = GREATEST(state_at, now()), updated_at = now()
        WHERE stripe_subscription_id = $1`,
      [stripeSubId, updated.cancel_at_period_end, updated.status],
    );
  }

  private async record(m: EntityManager, event: string, sub: Pick<UserSubscription, 'id' | 'user_id'>, ctx: AuditContext, data: Record<string, unknown>): Promise<void> {
    await this.audit.record(
      { event_type: event, user_id: sub.user_id, actor_id: ctx.actorId === undefined ? sub.user_id : ctx.actorId, data: { subscription_id: sub.id, actor: actorOf(ctx), ...data }, ip: ctx.ip ?? null, user_agent: ctx.user_agent ?? null },
      m,
    );
  }

  private async stripeIdOf(sub: UserSubscription, m: EntityManager): Promise<string | null> {
    if (sub.stripe_subscription_id) return sub.stripe_subscription_id;
    const link = await m.getRepository(StripeSubscriptionLink).findOne({ where: { subscription_id: sub.id, retired_at: IsNull() } });
    return link?.stripe_subscription_id ?? null;
  }
}
