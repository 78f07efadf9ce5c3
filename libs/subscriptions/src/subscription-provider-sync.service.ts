import { Inject, Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { AuditService } from '@torgovo/core';
import { BillingConfig } from './billing-config';
import { SubscriptionPeriod } from './entities/subscription-period.entity';
import { UserSubscription } from './entities/user-subscription.entity';
import { AuditContext, subscriptionAudit } from './subscription-audit';
import { SubscriptionHooks } from './subscription-hooks';
import { canTransition, EndReason, endsAtPeriodEnd, isCurrent, TERMINAL_STATUSES } from './subscription-states';
import type { BillingCycle, SubscriptionPlan } from '@torgovo/plans';

/**
 * What taking back a refunded payment did to its subscription: `ended` (expired now) or `shortened`
 * (a renewal paid ahead: access ends where the previous period ends); the others changed nothing —
 * the payment bought no period here (`not_applied`), its subscription has ended or been replaced
 * (`not_current`), its period is over (`period_over`) or a later period has been paid since (`superseded`).
 */
export type PaidPeriodRevocation = 'ended' | 'shortened' | 'not_applied' | 'not_current' | 'period_over' | 'superseded';

/**
 * State a payment provider reports about a subscription it renews (Stripe webhooks):
 * applied here so the subscription rows stay written by this lib only. Every method
 * runs in the caller's transaction, locks the row, and returns false when nothing
 * changed (a repeated or already-applied state). Never calls the provider back.
 */
@Injectable()
export class SubscriptionProviderSyncService {
  constructor(
    private readonly audit: AuditService,
    private readonly hooks: SubscriptionHooks,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
  ) {}

  /** The provider failed to collect a renewal: access continues through the grace period. */
  async markPastDue(subscriptionId: string, ctx: AuditContext, m: EntityManager): Promise<boolean> {
    const sub = await this.lock(m, subscriptionId);
    // A trial reaches here when its first charge at the provider failed (the card trial ended).
    if (!sub || (sub.status !== 'active' && sub.status !== 'trial')) return false;
    await m.getRepository(UserSubscription).update({ id: sub.id }, { status: 'past_due' });
    await this.audit.record(subscriptionAudit('subscription.past_due', sub, ctx, { from: sub.status, source: 'provider' }), m);
    return true;
  }

  /**
   * A trial got a card on file at the provider (Stripe Checkout with trial_end): record the
   * provider's id, so the trial is treated as renewing (the billing sweep gives its first charge
   * the grace period instead of expiring it) and Checkout is not offered for it again.
   */
  async linkProviderTrial(subscriptionId: string, stripeSubscriptionId: string, ctx: AuditContext, m: EntityManager): Promise<boolean> {
    const sub = await this.lock(m, subscriptionId);
    if (!sub || sub.status !== 'trial' || sub.stripe_subscription_id !== null) return false;
    await m.getRepository(UserSubscription).update({ id: sub.id }, { stripe_subscription_id: stripeSubscriptionId });
    await this.audit.record(subscriptionAudit('subscription.updated', sub, ctx, { status: sub.status, changes: { stripe_subscription_id: stripeSubscriptionId }, source: 'provider' }), m);
    return true;
  }

  /** The provider ended it (Stripe customer.subscription.deleted): expired now, bots stopped if it was current. */
  async endByProvider(subscriptionId: string, reason: EndReason, ctx: AuditContext, m: EntityManager): Promise<boolean> {
    const sub = await this.lock(m, subscriptionId);
    if (!sub || !canTransition(sub.status, 'expired')) return false;
    await this.expireNow(m, sub, reason, ctx, {});
    return true;
  }

  /**
   * The money that paid for a period was returned in full (refunded at the provider, a chargeback
   * lost): the time that payment bought is taken back, and nothing else. Decided here, under the
   * subscription's row lock, from its periods as they are now, not as they were when the refund was
   * made: a subscription replaced or ended since, a period already over, or one followed by a later
   * paid period is left as it is (the refund stays recorded on the payment). Otherwise access ends
   * where the periods other payments bought end: now (expired, reason payment_refunded: bots stopped
   * and the provider's billing cancelled by the end listeners, as for any end), or, for a renewal paid
   * ahead of its period, at the end of the period before it.
   */
  async revokePaidPeriod(payment: { provider: string; reference: string }, ctx: AuditContext, m: EntityManager, now: Date = new Date()): Promise<PaidPeriodRevocation> {
    const bought = await m.getRepository(SubscriptionPeriod).findOne({ where: { provider: payment.provider, payment_reference: payment.reference } });
    if (!bought) return 'not_applied';
    const sub = await this.lock(m, bought.subscription_id);
    // Whatever it changes now, this period is no longer paid time for a later refund's decision.
    await m.getRepository(SubscriptionPeriod).update({ id: bought.id, revoked_at: IsNull() }, { revoked_at: now });
    if (!sub || !isCurrent(sub.status)) return 'not_current';
    if (bought.period_end.getTime() <= now.getTime()) return 'period_over';
    const [others] = (await m.query(
      `SELECT max(period_end) AS kept_until, coalesce(bool_or(period_end > $3), false) AS later
         FROM subscription_periods WHERE subscription_id = $1 AND id <> $2 AND revoked_at IS NULL`,
      [sub.id, bought.id, bought.period_end],
    )) as Array<{ kept_until: Date | null; later: boolean }>;
    if (others.later) return 'superseded';
    const data = { payment_provider: payment.provider, payment_reference: payment.reference, period_start: bought.period_start.toISOString(), period_end: bought.period_end.toISOString() };
    if (!others.kept_until || others.kept_until.getTime() <= now.getTime()) {
      await this.expireNow(m, sub, 'payment_refunded', ctx, data);
      return 'ended';
    }
    // Nothing of this payment's time is left in the subscription's end (changed by other means since).
    if (!sub.end_date || sub.end_date.getTime() <= others.kept_until.getTime()) return 'period_over';
    await m.getRepository(UserSubscription).update({ id: sub.id }, { end_date: others.kept_until });
    const changes = { end_date: others.kept_until.toISOString() };
    await this.audit.record(subscriptionAudit('subscription.updated', sub, ctx, { status: sub.status, changes, reason: 'payment_refunded', source: 'provider', ...data }), m);
    return 'shortened';
  }

  private async expireNow(m: EntityManager, sub: UserSubscription, reason: EndReason, ctx: AuditContext, data: Record<string, unknown>): Promise<void> {
    await m.getRepository(UserSubscription).update(
      { id: sub.id },
      { status: 'expired', ended_at: new Date(), end_reason: reason, auto_renew: false },
    );
    await this.audit.record(subscriptionAudit('subscription.expired', sub, ctx, { from: sub.status, reason, source: 'provider', ...data }), m);
    if (isCurrent(sub.status)) {
      await this.hooks.notifyEnded([{ subscription_id: sub.id, user_id: sub.user_id, plan_type: sub.plan_type, reason }], m);
    }
  }

  /**
   * The user changed it at the provider (Stripe Customer Portal), or the provider confirms our
   * own change. Its one flag stands for both of ours (endsAtPeriodEnd): "renew" again clears both.
   */
  async setCancelAtPeriodEnd(subscriptionId: string, cancelAtPeriodEnd: boolean, ctx: AuditContext, m: EntityManager): Promise<boolean> {
    const sub = await this.lock(m, subscriptionId);
    if (!sub || !isCurrent(sub.status) || endsAtPeriodEnd(sub) === cancelAtPeriodEnd) return false;
    const changes: Partial<Pick<UserSubscription, 'auto_renew' | 'cancel_at_period_end'>> = cancelAtPeriodEnd
      ? { cancel_at_period_end: true }
      : { cancel_at_period_end: false, ...(sub.auto_renew ? {} : { auto_renew: true }) };
    await m.getRepository(UserSubscription).update({ id: sub.id }, changes);
    await this.audit.record(subscriptionAudit('subscription.updated', sub, ctx, { status: sub.status, changes, source: 'provider' }), m);
    return true;
  }

  /**
   * A payment for this subscription is open or in flight at the provider until `until` (an open
   * Checkout Session; a bank debit clearing; a crypto quote and the time its deposit may take to be
   * credited): the sweeps do not expire it under that payment (a renewable one still goes past due,
   * keeping its grace). Only ever lengthened here; activation and releasePaymentHold clear it.
   * Returns false when the subscription has ended (or is not one a payment can activate or renew):
   * a payment must not be offered for it, and the caller refuses in its transaction.
   */
  async holdForPayment(subscriptionId: string, until: Date, m: EntityManager, capAfterDeadlineMs: number | null = null): Promise<boolean> {
    // With a cap: never past the subscription's own deadline (a pending payment's TTL, a trial's end,
    // a paid period's end plus the grace) plus capAfterDeadlineMs — a payment asked for again and
    // again (a new crypto quote every day) does not keep the subscription from expiring for ever.
    const [, held] = (await m.query(
      `UPDATE user_subscriptions SET payment_hold_until = GREATEST(payment_hold_until,
              CASE WHEN $3::bigint IS NULL THEN $2::timestamptz
                   ELSE LEAST($2::timestamptz,
                              CASE WHEN status = 'pending_payment' THEN created_at + $4::int * interval '1 hour'
                                   WHEN status = 'trial' THEN end_date
                                   ELSE end_date + $5::bigint * interval '1 millisecond' END
                              + $3::bigint * interval '1 millisecond') END),
              updated_at = now()
        WHERE id = $1 AND status IN ('pending_payment', 'trial', 'active', 'past_due')`,
      [subscriptionId, until, capAfterDeadlineMs, this.billing.BILLING_PENDING_TTL_HOURS, this.billing.graceMs],
    )) as [unknown, number];
    return held > 0;
  }

  /** The payment in flight failed or was abandoned: the subscription is swept on its own dates again. */
  async releasePaymentHold(subscriptionId: string, m: EntityManager): Promise<void> {
    await m.query(`UPDATE user_subscriptions SET payment_hold_until = NULL, updated_at = now() WHERE id = $1 AND payment_hold_until IS NOT NULL`, [subscriptionId]);
  }

  /**
   * The provider bills another of our plans (of the same type) for it now: the local plan follows
   * the price. The caller has mapped the price to a plan and refuses (audits) a price that maps to none.
   */
  async changePlanByProvider(subscriptionId: string, plan: Pick<SubscriptionPlan, 'id' | 'code' | 'plan_type'>, cycle: BillingCycle, ctx: AuditContext, m: EntityManager): Promise<boolean> {
    const sub = await this.lock(m, subscriptionId);
    if (!sub || TERMINAL_STATUSES.includes(sub.status) || plan.plan_type !== sub.plan_type) return false;
    if (sub.plan_id === plan.id && sub.billing_cycle === cycle) return false;
    await m.getRepository(UserSubscription).update({ id: sub.id }, { plan_id: plan.id, billing_cycle: cycle });
    await this.audit.record(
      subscriptionAudit('subscription.plan_changed', sub, ctx, { from_plan_id: sub.plan_id, from_cycle: sub.billing_cycle, to_plan_id: plan.id, to_plan_code: plan.code, to_cycle: cycle, source: 'provider' }),
      m,
    );
    return true;
  }

  private lock(m: EntityManager, id: string): Promise<UserSubscription | null> {
    return m.getRepository(UserSubscription).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }
}
