import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull, MoreThan } from 'typeorm';
import type Stripe from 'stripe';
import { AppConfig, AuditService, Decimal } from '@torgovo/core';
import { planPrice, SubscriptionPlan } from '@torgovo/plans';
import { AuditContext, lockActiveUserBilling, SubscriptionErrors, SubscriptionProviderSyncService, SubscriptionsService, UserSubscription } from '@torgovo/subscriptions';
import { CheckoutResponse, CreateCheckoutDto } from '../dto/create-checkout.dto';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { recordStripeCustomer } from './stripe-customers';
import { StripeObligations } from './stripe-obligations';
import { fromUnix } from './stripe-objects';
import { StripeGateway } from './stripe-gateway';

/** Second key space of pg_advisory_xact_lock for "create this user's Stripe customer". */
// Two-key space (namespace, hashtext(user)): 7_204_301 is the order claimer's, a user creating a
// Stripe customer must not look busy to it.
const CUSTOMER_LOCK = 7_204_501;
/** An open session is handed out again only if the user still has this long to pay. */
const REUSE_MIN_REMAINING_MS = 10 * 60_000;
/** Checkout Session lifetime: Stripe's maximum (24 h; the minimum is 30 min). */
const SESSION_LIFETIME_SECONDS = 24 * 3600;
/** Stripe refuses a trial_end sooner than this. */
const STRIPE_MIN_TRIAL_MS = 48 * 3_600_000;
/**
 * Stripe finalizes and charges a renewal invoice about an hour after the period starts; our
 * sweep expires a trial at its end. Ending Stripe's trial earlier lets the charge land first.
 */
const TRIAL_END_LEAD_MS = 3 * 3_600_000;

interface UserRow {
  email: string;
  full_name: string;
  stripe_customer_id: string | null;
  is_active: boolean;
  erased_at: Date | null;
}

@Injectable()
export class StripeCheckoutService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateway: StripeGateway,
    private readonly obligations: StripeObligations,
    private readonly sync: SubscriptionProviderSyncService,
    private readonly subscriptions: SubscriptionsService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /**
   * The pending subscription, the pending payment and the Checkout Session are created in one
   * transaction: a Stripe failure leaves nothing behind, and the session's metadata names rows
   * that exist. Activation happens only from Stripe's webhooks.
   */
  async createCheckout(userId: string, dto: CreateCheckoutDto, ctx: AuditContext): Promise<CheckoutResponse> {
    this.gateway.assertEnabled();
    const plan = await this.ds.getRepository(SubscriptionPlan).findOne({ where: { id: dto.plan_id } });
    if (!plan) throw PaymentErrors.planNotFound();
    if (!plan.is_active) throw PaymentErrors.planInactive();
    const priceId = dto.billing_cycle === 'yearly' ? plan.stripe_yearly_price_id : plan.stripe_monthly_price_id;
    if (!priceId || new Decimal(planPrice(plan, dto.billing_cycle)).isZero()) throw PaymentErrors.noStripePrice(dto.billing_cycle);

    const customerId = await this.ensureCustomer(userId, ctx);
    return this.ds.transaction(async (m) => {
      // The account again, after Stripe's round trip: an erasure or deactivation committed meanwhile is
      // refused (401) before any subscription, payment or Checkout Session exists for it.
      await lockActiveUserBilling(m, userId);
      const sub = (await this.unpaidStripeTrial(m, userId, plan, dto)) ??
        (await this.subscriptions.subscribe(userId, { ...dto, payment_method: 'stripe', auto_renew: true }, ctx, m));
      if (sub.status !== 'pending_payment' && sub.status !== 'trial') throw PaymentErrors.notStripePending();

      const reusable = await m.getRepository(Payment).findOne({
        where: {
          subscription_id: sub.id,
          provider: 'stripe',
          status: 'pending',
          kind: 'subscription',
          expires_at: MoreThan(new Date(Date.now() + REUSE_MIN_REMAINING_MS)),
        },
        order: { created_at: 'DESC' },
      });
      if (reusable?.checkout_url && reusable.provider_payment_id) {
        return { checkout_url: reusable.checkout_url, session_id: reusable.provider_payment_id, payment_id: reusable.id, subscription_id: sub.id };
      }
      // A previous session too close to its end to hand out is still payable: close it before a
      // new one replaces it, or both could be paid. One already paid (its webhook not here yet) is
      // left to that webhook, and no second payable session is opened: 409 payment_in_progress.
      const paid = await this.obligations.closeCheckouts(m, sub, 'expired', ctx);
      if (paid.length > 0) throw PaymentErrors.paymentInProgress();

      const paymentId = randomUUID();
      await m.getRepository(Payment).insert({
        id: paymentId,
        user_id: userId,
        subscription_id: sub.id,
        plan_id: plan.id,
        kind: 'subscription',
        provider: 'stripe',
        status: 'pending',
        amount_usd: new Decimal(planPrice(plan, dto.billing_cycle)).toFixed(2),
        currency: 'USD',
        billing_cycle: dto.billing_cycle,
      });
      const metadata = { user_id: userId, plan_id: plan.id, payment_id: paymentId, subscription_id: sub.id };
      // Stated, not left to Stripe's default, because the subscription is held for exactly this long.
      const expiresAt = Math.floor(Date.now() / 1000) + SESSION_LIFETIME_SECONDS;
      const session = await this.gateway.call('checkout.sessions.create', (stripe) =>
        stripe.checkout.sessions.create(
          {
            mode: 'subscription',
            customer: customerId,
            client_reference_id: userId,
            line_items: [{ price: priceId, quantity: 1 }],
            allow_promotion_codes: true,
            success_url: this.config.env.STRIPE_SUCCESS_URL ?? `${this.config.publicUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
            cancel_url: this.config.env.STRIPE_CANCEL_URL ?? `${this.config.publicUrl}/billing/cancel`,
            metadata,
            expires_at: expiresAt,
            // Copied onto the subscription and its invoices: an invoice.paid arriving before
            // checkout.session.completed still finds our subscription.
            subscription_data: { metadata, ...this.trialEnd(sub) },
          },
          { idempotencyKey: `checkout-${paymentId}` },
        ),
      );
      if (!session.url) throw PaymentErrors.provider();
      const sessionExpiresAt = fromUnix(session.expires_at ?? expiresAt);
      await m.getRepository(Payment).update({ id: paymentId }, { provider_payment_id: session.id, checkout_url: session.url, expires_at: sessionExpiresAt });
      // The pending (or trial) subscription outlives its open session: the sweep never expires it
      // under a session the customer may still pay.
      await this.sync.holdForPayment(sub.id, sessionExpiresAt, m);
      await this.audit.record(
        {
          event_type: 'payment.checkout_created',
          user_id: userId,
          actor_id: ctx.actorId ?? userId,
          data: { payment_id: paymentId, subscription_id: sub.id, plan_code: plan.code, billing_cycle: dto.billing_cycle, session_id: session.id },
          ip: ctx.ip ?? null,
          user_agent: ctx.user_agent ?? null,
        },
        m,
      );
      return { checkout_url: session.url, session_id: session.id, payment_id: paymentId, subscription_id: sub.id };
    });
  }

  /**
   * One Stripe customer per user, ever: a per-user advisory lock serializes our checkouts and
   * the idempotency key derived from the user id makes Stripe return the same customer if a
   * crash lost the id between Stripe's answer and our UPDATE (keys live 24 h at Stripe). The id is
   * recorded by recordStripeCustomer, which checks the erasure under the user's row lock.
   */
  async ensureCustomer(userId: string, ctx: AuditContext): Promise<string> {
    const known = await this.customerOf(this.ds.manager, userId);
    if (known.stripe_customer_id) return known.stripe_customer_id;
    const created = await this.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CUSTOMER_LOCK, userId]);
      const user = await this.customerOf(m, userId);
      if (user.stripe_customer_id) return user.stripe_customer_id;
      // No Stripe customer (with the erased address) for an account erased since the guard let this in.
      if (!user.is_active || user.erased_at) throw SubscriptionErrors.accountInactive();
      const customer = await this.gateway.call('customers.create', (stripe) =>
        stripe.customers.create({ email: user.email, name: user.full_name, metadata: { user_id: userId } }, { idempotencyKey: `customer-create-${userId}` }),
      );
      // An erasure that committed during Stripe's round trip found no customer to delete: this one
      // (with the person's email and name) is queued for deletion, and this commit keeps that.
      if (!(await recordStripeCustomer(m, userId, customer.id))) return null;
      await this.audit.record(
        { event_type: 'payment.customer_created', user_id: userId, actor_id: ctx.actorId ?? userId, data: { customer_id: customer.id }, ip: ctx.ip ?? null, user_agent: ctx.user_agent ?? null },
        m,
      );
      return customer.id;
    });
    if (created === null) throw SubscriptionErrors.accountInactive();
    return created;
  }

  private async customerOf(m: EntityManager, userId: string): Promise<UserRow> {
    const rows = (await m.query('SELECT email, full_name, stripe_customer_id, is_active, erased_at FROM users WHERE id = $1', [userId])) as UserRow[];
    if (rows.length === 0) throw PaymentErrors.noCustomer();
    return rows[0];
  }

  /** A card trial started without a card (POST /subscriptions) is paid by attaching Checkout to it, not refused as "already subscribed". */
  private async unpaidStripeTrial(m: EntityManager, userId: string, plan: SubscriptionPlan, dto: CreateCheckoutDto): Promise<UserSubscription | null> {
    return m.getRepository(UserSubscription).findOne({
      where: { user_id: userId, plan_id: plan.id, billing_cycle: dto.billing_cycle, status: 'trial', payment_method: 'stripe', stripe_subscription_id: IsNull() },
      relations: { plan: true },
    });
  }

  private trialEnd(sub: UserSubscription): Pick<Stripe.Checkout.SessionCreateParams.SubscriptionData, 'trial_end'> {
    if (sub.status !== 'trial' || !sub.end_date) return {};
    const end = sub.end_date.getTime() - TRIAL_END_LEAD_MS;
    // Too close to the end for a Stripe trial: charge now; the paid period starts today.
    if (end - Date.now() < STRIPE_MIN_TRIAL_MS) return {};
    return { trial_end: Math.floor(end / 1000) };
  }
}
