import { Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { EntityManager, IsNull } from 'typeorm';
import type Stripe from 'stripe';
import { AuditService, DomainError } from '@torgovo/core';
import {
  ActivationResult,
  AuditContext,
  EndReason,
  lockUserBilling,
  SubscriptionActivationService,
  SubscriptionProviderSyncService,
  TERMINAL_STATUSES,
  UserSubscription,
} from '@torgovo/subscriptions';
import { StripeSubscriptionLink } from '../entities/stripe-subscription-link.entity';
import { Payment } from '../entities/payment.entity';
import { userOfStripeCustomer } from './stripe-customers';
import { StripeGateway } from './stripe-gateway';
import { StripeObligations } from './stripe-obligations';
import { InvoiceFacts, StripePaymentRecords } from './stripe-payment-records';
import { StripePricePolicy } from './stripe-price-plans';
import {
  idOf,
  invoicePeriod,
  invoicePriceId,
  invoiceSubscriptionId,
  invoiceSubscriptionMetadata,
  minorToDecimal,
  StripePeriod,
  subscriptionPeriod,
  subscriptionPriceId,
} from './stripe-objects';
import { cancelOpenCryptoPayments } from '../crypto/open-crypto-payments';

export interface EventContext {
  eventId: string;
  created: Date;
  ip: string | null;
  userAgent: string | null;
}

export interface HandleResult {
  outcome: string;
  userId: string | null;
  data?: Record<string, unknown>;
}

interface Resolved {
  link: StripeSubscriptionLink;
  sub: UserSubscription;
  /** A second Stripe subscription paying for a subscription already linked to another: never applied (the link is not stored). */
  second?: true;
}

const NO_USER = (outcome: string): HandleResult => ({ outcome, userId: null });

/**
 * A bank debit (SEPA, ACH) started at Checkout clears in up to this long; the pending subscription
 * waits for it instead of expiring under it (Stripe: SEPA up to 14 business days in the worst case).
 */
const ASYNC_PAYMENT_HOLD_MS = 14 * 86_400_000;
/** A Stripe subscription in these states bills nothing any more. */
const ENDED_AT_STRIPE: ReadonlyArray<string> = ['canceled', 'incomplete_expired'];
/** Only these invoices pay for a period; proration and credit invoices (plan changes, cancels with credit) do not. */
const PERIOD_INVOICES: ReadonlyArray<string | null> = ['subscription_create', 'subscription_cycle'];

/**
 * Applies one verified Stripe event inside the webhook's transaction, under the user's billing
 * lock. State comes from the Stripe object, never from arrival order: periods are granted
 * only by paid invoices (keyed by invoice id, so once each), and subscription/failure events
 * older than the newest state applied are re-read or ignored. The local plan follows the price
 * Stripe bills (a price no plan ever sold is refused, by the same rule whichever event applies it). What we then owe Stripe (our renewal choice
 * at link time, the replaced plan's cancellation, refunds of money that cannot be applied) is
 * StripeObligations' job.
 */
@Injectable()
export class StripeEventHandlers {
  private readonly logger = new Logger(StripeEventHandlers.name);

  constructor(
    private readonly gateway: StripeGateway,
    private readonly obligations: StripeObligations,
    private readonly activation: SubscriptionActivationService,
    private readonly sync: SubscriptionProviderSyncService,
    private readonly records: StripePaymentRecords,
    private readonly prices: StripePricePolicy,
    private readonly audit: AuditService,
  ) {}

  async apply(event: Stripe.Event, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.checkoutCompleted(event.data.object, ctx, m);
      case 'checkout.session.async_payment_failed':
        return this.asyncPaymentFailed(event.data.object, ctx, m);
      case 'checkout.session.expired':
        return this.checkoutExpired(event.data.object, m);
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return this.subscriptionChanged(event.data.object, event.type === 'customer.subscription.deleted', ctx, m);
      case 'invoice.paid':
      case 'invoice.payment_succeeded':
        return this.invoicePaid(event.data.object, ctx, m);
      case 'invoice.payment_failed':
        return this.invoiceFailed(event.data.object, ctx, m);
      default:
        return NO_USER('ignored_type');
    }
  }

  private async checkoutCompleted(session: Stripe.Checkout.Session, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    if (session.mode !== 'subscription') return NO_USER('ignored_mode');
    const customerId = idOf(session.customer);
    const userId = await this.userFor(m, customerId);
    if (!userId || !customerId) return this.unknownCustomer(customerId, ctx);
    await lockUserBilling(m, userId);
    const stripeSubId = idOf(session.subscription);
    if (!stripeSubId) return { outcome: 'ignored_no_subscription', userId };
    const r = await this.resolve(m, userId, customerId, stripeSubId, session.metadata ?? {}, false, ctx);
    if (!r) return this.unknownSubscription(userId, stripeSubId, ctx);
    const paymentId = session.metadata?.payment_id;
    if (paymentId && isUUID(paymentId)) {
      await m.getRepository(Payment).update({ id: paymentId, user_id: userId }, { stripe_subscription_id: stripeSubId });
    }
    const invoiceId = idOf(session.invoice);
    const paid = session.payment_status === 'paid' && invoiceId !== null;
    if (r.second) {
      if (!paid) return { outcome: 'ignored_second_unpaid', userId };
      await this.records.recordPaid(m, this.facts(r, stripeSubId, invoiceId, 'subscription', session.amount_total ?? 0, session.currency, null), this.meta(ctx));
      return this.refuse(m, r, invoiceId, session.amount_total ?? 0, 'second_stripe_subscription', ctx);
    }
    if (r.sub.status === 'trial') await this.sync.linkProviderTrial(r.sub.id, stripeSubId, this.subCtx(ctx), m);
    // A bank debit is still clearing: async_payment_succeeded (or invoice.paid) activates, _failed releases.
    if (session.payment_status === 'unpaid') {
      await this.sync.holdForPayment(r.sub.id, new Date(Date.now() + ASYNC_PAYMENT_HOLD_MS), m);
      return { outcome: 'awaiting_async_payment', userId };
    }
    // "paid" means the first invoice is paid: apply it now (same reference as its invoice.paid, so once).
    if (!paid) return { outcome: 'linked', userId };
    const stripeSub = await this.gateway.call('subscriptions.retrieve', (s) => s.subscriptions.retrieve(stripeSubId));
    const period = subscriptionPeriod(stripeSub);
    if (!period) return { outcome: 'linked_no_period', userId };
    await this.records.recordPaid(m, this.facts(r, stripeSubId, invoiceId, 'subscription', session.amount_total ?? 0, session.currency, period), this.meta(ctx));
    // The same price rule as its invoice.paid (the session does not carry the price: its invoice does).
    const invoice = await this.gateway.call('invoices.retrieve', (s) => s.invoices.retrieve(invoiceId));
    if (await this.priceRefused(m, r, invoicePriceId(invoice), ctx)) return this.refuse(m, r, invoiceId, session.amount_total ?? 0, 'unknown_price', ctx);
    return this.activate(m, r, invoiceId, session.amount_total ?? 0, period, ctx);
  }

  /**
   * The bank debit started at Checkout failed: its payment fails and the subscription is swept on its
   * own dates again. Its Stripe subscription is retired (cancelled at Stripe, the link kept but no
   * longer the subscription's billing): a new Checkout the user pays for it is then its billing, not
   * refunded as a second one.
   */
  private async asyncPaymentFailed(session: Stripe.Checkout.Session, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const payments = m.getRepository(Payment);
    const payment = await payments.findOne({ where: { provider: 'stripe', provider_payment_id: session.id } });
    if (!payment) return NO_USER('unknown_session');
    await lockUserBilling(m, payment.user_id);
    const res = await payments.update({ id: payment.id, status: 'pending' }, { status: 'failed', failure_reason: 'async_payment_failed' });
    if (payment.subscription_id) await this.sync.releasePaymentHold(payment.subscription_id, m);
    const stripeSubId = idOf(session.subscription);
    if (stripeSubId) await this.retireFailedDebit(m, stripeSubId, payment.user_id, ctx);
    if (res.affected) {
      await this.audit.record(
        {
          event_type: 'payment.failed',
          user_id: payment.user_id,
          actor_id: null,
          data: { payment_id: payment.id, subscription_id: payment.subscription_id, session_id: session.id, failure_reason: 'async_payment_failed', stripe_event_id: ctx.eventId, actor: 'provider' },
          ip: ctx.ip,
          user_agent: ctx.userAgent,
        },
        m,
      );
    }
    return { outcome: res.affected ? 'payment_failed' : 'no_change', userId: payment.user_id, data: { payment_id: payment.id } };
  }

  private async retireFailedDebit(m: EntityManager, stripeSubId: string, userId: string, ctx: EventContext): Promise<void> {
    const links = m.getRepository(StripeSubscriptionLink);
    const link = await links.findOne({ where: { stripe_subscription_id: stripeSubId, user_id: userId, retired_at: IsNull() } });
    // Never one that has paid for a period (a later invoice of it cleared): that one is the subscription's billing.
    if (!link || (await m.getRepository(Payment).exists({ where: { stripe_subscription_id: stripeSubId, status: 'completed' } }))) return;
    await this.obligations.retired(m, { id: link.subscription_id, user_id: userId }, stripeSubId, 'async_payment_failed', this.subCtx(ctx));
    await links.update({ stripe_subscription_id: stripeSubId }, { retired_at: new Date() });
  }

  /** An abandoned Checkout: its pending payment expires. The subscription waits for the pending sweep. */
  private async checkoutExpired(session: Stripe.Checkout.Session, m: EntityManager): Promise<HandleResult> {
    const payments = m.getRepository(Payment);
    const payment = await payments.findOne({ where: { provider: 'stripe', provider_payment_id: session.id } });
    if (!payment) return NO_USER('unknown_session');
    const res = await payments.update({ id: payment.id, status: 'pending' }, { status: 'expired' });
    return { outcome: res.affected ? 'payment_expired' : 'no_change', userId: payment.user_id, data: { payment_id: payment.id } };
  }

  private async subscriptionChanged(event: Stripe.Subscription, deleted: boolean, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const customerId = idOf(event.customer);
    const userId = await this.userFor(m, customerId);
    if (!userId || !customerId) return this.unknownCustomer(customerId, ctx);
    await lockUserBilling(m, userId);
    const r = await this.resolve(m, userId, customerId, event.id, event.metadata ?? {}, false, ctx);
    if (!r) return this.unknownSubscription(userId, event.id, ctx);
    // A second Stripe subscription is cancelled when its money arrives; its state is never ours.
    if (r.second) return { outcome: 'ignored_second_subscription', userId };
    // Deletion is final at Stripe, so it is never "older" than anything. A snapshot not newer than
    // the stored state (two changes within one second share `created`; an invoice event advances
    // the clock too, so a change made just before an invoice can arrive "old") is not trusted and
    // not dropped either: Stripe's current state is read and applied instead.
    const stale = !deleted && r.link.state_at.getTime() >= ctx.created.getTime();
    const obj = stale ? await this.gateway.call('subscriptions.retrieve', (s) => s.subscriptions.retrieve(event.id)) : event;

    const period = subscriptionPeriod(obj);
    await m.getRepository(StripeSubscriptionLink).update(
      { stripe_subscription_id: obj.id },
      {
        status: obj.status,
        cancel_at_period_end: obj.cancel_at_period_end,
        current_period_start: period?.start ?? null,
        current_period_end: period?.end ?? null,
        state_at: r.link.state_at > ctx.created ? r.link.state_at : ctx.created,
      },
    );
    const sctx = this.subCtx(ctx);
    if (deleted || obj.status === 'canceled' || obj.status === 'incomplete_expired') {
      const changed = await this.sync.endByProvider(r.sub.id, this.endReason(obj, r.sub), sctx, m);
      return { outcome: changed ? 'expired' : 'no_change', userId, data: { stripe_status: obj.status } };
    }
    let changed = await this.followPrice(m, r, subscriptionPriceId(obj), ctx);
    if (changed === 'refused') return { outcome: 'price_refused', userId, data: { stripe_status: obj.status, price: subscriptionPriceId(obj) } };
    if (obj.status === 'past_due' || obj.status === 'unpaid') changed = (await this.sync.markPastDue(r.sub.id, sctx, m)) || changed;
    // A subscription.updated never grants a period: Stripe keeps a subscription "active" while
    // its renewal invoice is still a draft. Only invoice.paid extends.
    changed = (await this.sync.setCancelAtPeriodEnd(r.sub.id, obj.cancel_at_period_end, sctx, m)) || changed;
    const outcome = changed ? 'applied' : stale ? 'stale' : 'no_change';
    return { outcome, userId, data: { stripe_status: obj.status, cancel_at_period_end: obj.cancel_at_period_end, ...(stale ? { refetched: true } : {}) } };
  }

  /** A paid invoice whose own event has not arrived yet (a refund or dispute of its charge came first): applied as its invoice.paid will be. */
  applyPaidInvoice(inv: Stripe.Invoice, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    return this.invoicePaid(inv, ctx, m);
  }

  private async invoicePaid(inv: Stripe.Invoice, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const found = await this.invoiceTarget(inv, ctx, m);
    if ('outcome' in found) return found;
    const { r, userId, stripeSubId } = found;
    const grantsPeriod = PERIOD_INVOICES.includes(inv.billing_reason);
    // A credit or $0 proration invoice (the replaced plan's unused time): no money moved.
    if (!grantsPeriod && inv.amount_paid === 0) return { outcome: 'ignored_no_charge', userId };
    const period = invoicePeriod(inv);
    const kind = inv.billing_reason === 'subscription_create' ? 'subscription' : 'renewal';
    await this.records.recordPaid(m, this.facts(r, stripeSubId, inv.id, kind, inv.amount_paid, inv.currency, period), this.meta(ctx));
    if (r.second) return this.refuse(m, r, inv.id, inv.amount_paid, 'second_stripe_subscription', ctx);
    await this.bumpState(m, stripeSubId, ctx.created);
    if (!grantsPeriod) return { outcome: 'recorded_no_period', userId, data: { billing_reason: inv.billing_reason } };
    if (!period) {
      this.logger.error({ invoice_id: inv.id, subscription_id: r.sub.id }, 'Paid Stripe invoice has no service period; not applied');
      return { outcome: 'unapplied_no_period', userId };
    }
    if (await this.priceRefused(m, r, invoicePriceId(inv), ctx)) return this.refuse(m, r, inv.id, inv.amount_paid, 'unknown_price', ctx);
    // The invoice that opens a Stripe trial (its first, within our trial): our trial already gives
    // access until its end. Not "amount 0": a first charge after the trial can be $0 with a promotion
    // code, and a trial too short for a Stripe trial is charged at once (a period past our trial).
    if (kind === 'subscription' && r.sub.status === 'trial' && r.sub.end_date && period.end <= r.sub.end_date) {
      await this.sync.linkProviderTrial(r.sub.id, stripeSubId, this.subCtx(ctx), m);
      return { outcome: 'trial_linked', userId };
    }
    return this.activate(m, r, inv.id, inv.amount_paid, period, ctx);
  }

  /**
   * The price rule for a paid period's invoice: the plan follows the price paid, and money for a price
   * no plan of ours ever sold buys nothing (true: refund it). A subscription change newer than the
   * event was applied already (r.link is the state read before this event; its price is the plan now):
   * a late or retried event for the old price grants its period but does not move the plan back.
   * checkout.session.completed and invoice.paid apply the same first invoice and both decide here, from
   * the invoice's price, so one never activates what the other refunds.
   */
  private async priceRefused(m: EntityManager, r: Resolved, priceId: string | null, ctx: EventContext): Promise<boolean> {
    if (r.link.state_at.getTime() > ctx.created.getTime()) return false;
    return (await this.followPrice(m, r, priceId, ctx)) === 'refused';
  }

  /** The local plan follows the billed price (StripePricePolicy); the change is kept on `r` for what follows. */
  private async followPrice(m: EntityManager, r: Resolved, priceId: string | null, ctx: EventContext): Promise<boolean | 'refused'> {
    const res = await this.prices.follow(m, { sub: r.sub, stripeSubscriptionId: r.link.stripe_subscription_id, priceId, ctx: this.subCtx(ctx), eventId: ctx.eventId });
    if (typeof res === 'object') {
      r.sub = { ...r.sub, plan_id: res.plan_id, billing_cycle: res.billing_cycle };
      return true;
    }
    return res;
  }

  private async invoiceFailed(inv: Stripe.Invoice, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const found = await this.invoiceTarget(inv, ctx, m);
    if ('outcome' in found) return found;
    const { r, userId, stripeSubId } = found;
    if (r.second) return { outcome: 'ignored_second_subscription', userId };
    if (r.link.state_at > ctx.created) return { outcome: 'stale', userId };
    if (await this.records.isPaid(m, inv.id)) return { outcome: 'ignored_already_paid', userId };
    const kind = inv.billing_reason === 'subscription_create' ? 'subscription' : 'renewal';
    const reason = inv.last_finalization_error?.code ?? 'payment_failed';
    await this.records.recordFailed(m, { ...this.facts(r, stripeSubId, inv.id, kind, inv.amount_due, inv.currency, invoicePeriod(inv)), failureReason: reason }, this.meta(ctx));
    await this.bumpState(m, stripeSubId, ctx.created);
    // A failed first payment leaves the subscription pending (the user retries in Checkout).
    const changed = kind === 'renewal' && (await this.sync.markPastDue(r.sub.id, this.subCtx(ctx), m));
    return { outcome: changed ? 'past_due' : 'payment_failed', userId };
  }

  private async invoiceTarget(inv: Stripe.Invoice, ctx: EventContext, m: EntityManager): Promise<HandleResult | { r: Resolved; userId: string; stripeSubId: string }> {
    const customerId = idOf(inv.customer);
    const userId = await this.userFor(m, customerId);
    if (!userId || !customerId) return this.unknownCustomer(customerId, ctx);
    await lockUserBilling(m, userId);
    const stripeSubId = invoiceSubscriptionId(inv);
    if (!stripeSubId) return { outcome: 'ignored_not_subscription', userId };
    const r = await this.resolve(m, userId, customerId, stripeSubId, invoiceSubscriptionMetadata(inv), true, ctx);
    if (!r) return this.unknownSubscription(userId, stripeSubId, ctx);
    return { r, userId, stripeSubId };
  }

  private async activate(m: EntityManager, r: Resolved, reference: string, amountMinor: number, period: StripePeriod, ctx: EventContext): Promise<HandleResult> {
    let res: ActivationResult;
    try {
      // The end follows our calendar (no periodEnd): a card and a crypto payment end on the same day.
      res = await this.activation.activate(
        r.sub.id,
        { payment: { provider: 'stripe', reference }, periodStart: period.start, stripeSubscriptionId: r.link.stripe_subscription_id, audit: this.subCtx(ctx) },
        m,
      );
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return this.refuse(m, r, reference, amountMinor, err.code, ctx);
    }
    // Outside the try: a Stripe failure here must roll the activation back (the webhook answers
    // 5xx and Stripe redelivers), not be refunded while the old plan bills on.
    if (res.applied && res.replaced) await this.obligations.replaced(m, res.replaced, this.subCtx(ctx));
    // A card plan replacing a crypto one leaves no crypto renewal request or deposit request open.
    if (res.applied && res.replaced) await cancelOpenCryptoPayments(m, [res.replaced.id], 'subscription_replaced');
    return { outcome: res.applied ? 'activated' : 'already_applied', userId: r.sub.user_id, data: { invoice_id: reference, end_date: res.subscription.end_date?.toISOString() ?? null } };
  }

  /**
   * Money arrived for a subscription that cannot take it (cancelled or expired meanwhile, a second
   * Stripe subscription for it, a price we do not sell): refunded automatically, once per invoice.
   */
  private async refuse(m: EntityManager, r: Resolved, invoiceId: string, amountMinor: number, code: string, ctx: EventContext): Promise<HandleResult> {
    const current = await m.getRepository(UserSubscription).findOne({ where: { id: r.sub.id }, select: { id: true, status: true } });
    const stopBilling = r.second === true || TERMINAL_STATUSES.includes(current?.status ?? r.sub.status);
    const outcome = await this.obligations.refuse(m, {
      sub: r.sub,
      stripeSubscriptionId: r.link.stripe_subscription_id,
      invoiceId,
      amountMinor,
      code,
      stopBilling,
      ctx: this.subCtx(ctx),
      eventId: ctx.eventId,
    });
    return { outcome: `unapplied_${code}`.slice(0, 40), userId: r.sub.user_id, data: { invoice_id: invoiceId, refund: outcome } };
  }

  /**
   * Our subscription for a Stripe one: the stored link, else the subscription_id we put in its
   * metadata at checkout (checked to be this user's), else (invoices) the Stripe subscription's own metadata.
   */
  private async resolve(m: EntityManager, userId: string, customerId: string, stripeSubId: string, hint: Record<string, string>, fetch: boolean, ctx: EventContext): Promise<Resolved | null> {
    const links = m.getRepository(StripeSubscriptionLink);
    const subs = m.getRepository(UserSubscription);
    const link = await links.findOne({ where: { stripe_subscription_id: stripeSubId } });
    if (link) {
      if (link.user_id !== userId) return null;
      const sub = await subs.findOne({ where: { id: link.subscription_id } });
      if (!sub) return null;
      // Retired (its first payment failed; cancelled at Stripe): what it still sends is a second billing's.
      return link.retired_at ? { link, sub, second: true } : { link, sub };
    }
    let localId = hint.subscription_id;
    if (!localId && fetch) {
      const remote = await this.gateway.call('subscriptions.retrieve', (s) => s.subscriptions.retrieve(stripeSubId));
      localId = remote.metadata?.subscription_id;
    }
    if (!localId || !isUUID(localId)) return null;
    const sub = await subs.findOne({ where: { id: localId, user_id: userId } });
    if (!sub) return null;
    const created = links.create({ stripe_subscription_id: stripeSubId, subscription_id: sub.id, user_id: userId, stripe_customer_id: customerId, state_at: new Date(0) });
    let other = await links.findOne({ where: { subscription_id: sub.id, retired_at: IsNull() } });
    // One that has ended at Stripe (its first payment never cleared) bills nothing: not the first billing.
    if (other?.status && ENDED_AT_STRIPE.includes(other.status)) {
      await links.update({ stripe_subscription_id: other.stripe_subscription_id }, { retired_at: new Date() });
      other = null;
    }
    if (other) {
      // A second paid Checkout for one subscription: never merge two Stripe billings silently.
      this.logger.error({ subscription_id: sub.id, stripe_subscription_id: stripeSubId, linked: other.stripe_subscription_id }, 'Second Stripe subscription for one subscription');
      return { link: created, sub, second: true };
    }
    await links.insert(created);
    // The renewal choice made before this Stripe subscription existed (auto_renew=false at POST
    // /subscriptions, a PATCH while pending) goes to Stripe now, before any of its events is applied.
    await this.obligations.linked(m, sub, stripeSubId, this.subCtx(ctx));
    return { link: await links.findOneByOrFail({ stripe_subscription_id: stripeSubId }), sub };
  }

  /** Also an erased account's customer: money its late events bring is refunded, not ignored. */
  private async userFor(m: EntityManager, customerId: string | null): Promise<string | null> {
    return customerId ? userOfStripeCustomer(m, customerId) : null;
  }

  private async bumpState(m: EntityManager, stripeSubId: string, at: Date): Promise<void> {
    await m.query('UPDATE stripe_subscriptions SET state_at = GREATEST(state_at, $2), updated_at = now() WHERE stripe_subscription_id = $1', [stripeSubId, at]);
  }

  private endReason(obj: Stripe.Subscription, sub: UserSubscription): EndReason {
    if (obj.cancellation_details?.reason === 'payment_failed') return 'payment_overdue';
    if (obj.cancel_at_period_end || sub.cancel_at_period_end) return 'cancelled_at_period_end';
    return 'cancelled_by_user';
  }

  private facts(r: Resolved, stripeSubId: string, invoiceId: string, kind: 'subscription' | 'renewal', amountMinor: number, currency: string | null, period: StripePeriod | null): InvoiceFacts {
    return {
      userId: r.sub.user_id,
      subscriptionId: r.sub.id,
      planId: r.sub.plan_id,
      billingCycle: r.sub.billing_cycle,
      stripeSubscriptionId: stripeSubId,
      invoiceId,
      kind,
      amount: minorToDecimal(amountMinor),
      currency: (currency ?? 'usd').toUpperCase(),
      period,
    };
  }

  private meta(ctx: EventContext): { ip: string | null; user_agent: string | null; event_id: string } {
    return { ip: ctx.ip, user_agent: ctx.userAgent, event_id: ctx.eventId };
  }

  private subCtx(ctx: EventContext): AuditContext {
    return { actorId: null, actor: 'provider', ip: ctx.ip, user_agent: ctx.userAgent };
  }

  private unknownCustomer(customerId: string | null, ctx: EventContext): HandleResult {
    this.logger.warn({ customer_id: customerId, event_id: ctx.eventId }, 'Stripe event for an unknown customer ignored');
    return NO_USER('unknown_customer');
  }

  private unknownSubscription(userId: string, stripeSubId: string, ctx: EventContext): HandleResult {
    this.logger.warn({ user_id: userId, stripe_subscription_id: stripeSubId, event_id: ctx.eventId }, 'Stripe event for an unknown subscription ignored');
    return { outcome: 'unknown_subscription', userId };
  }
}
