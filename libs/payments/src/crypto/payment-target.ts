import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Decimal } from '@torgovo/core';
import { BillingCycle, planPrice, SubscriptionPlan } from '@torgovo/plans';
import { AuditContext, SubscriptionProviderSyncService, SubscriptionsService } from '@torgovo/subscriptions';
import { PaymentErrors } from '../errors';

export interface PaymentTarget {
  subscriptionId: string;
  /** A renewal request row paid in place (its period and due date are the billing scheduler's). */
  renewalPaymentId: string | null;
  cycle: BillingCycle;
  amountUsd: string;
}

/**
 * What a crypto payment (OKX or CoinGate) pays for: the user's pending renewal of this plan if
 * the billing scheduler asked for one, else a new pending (or trial) crypto subscription.
 * Call inside the caller's transaction, after lockActiveUserBilling (subscribe takes the user's row, which goes before the billing lock).
 */
@Injectable()
export class PaymentTargets {
  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly sync: SubscriptionProviderSyncService,
  ) {}

  /**
   * The quote is offered: its subscription is kept from the sweeps until `until` (the quote's
   * expiry plus the crediting allowance), so a deposit sent in time still activates or renews it.
   * Refused (409 subscription_ended) when the subscription ended between its read and this write
   * (the sweep expired it): the caller's transaction rolls back and no payment is offered for it.
   * Never past the subscription's own deadline plus `capAfterDeadlineMs` (one quote's life and the
   * crediting allowance): quoting again and again does not postpone its expiry for ever.
   */
  async hold(m: EntityManager, target: PaymentTarget, until: Date, capAfterDeadlineMs: number): Promise<void> {
    if (!(await this.sync.holdForPayment(target.subscriptionId, until, m, capAfterDeadlineMs))) throw PaymentErrors.subscriptionEnded();
  }

  async resolve(
    m: EntityManager,
    userId: string,
    plan: SubscriptionPlan,
    choice: { billing_cycle?: BillingCycle; auto_renew?: boolean },
    ctx: AuditContext,
  ): Promise<PaymentTarget> {
    // A renewal whose attempt lapsed is still owed: expired, or cancelled/invalid at CoinGate (failed).
    // Only that attempt failed — the period is the scheduler's and there is no other row to pay it
    // with (payments_renewal_once), so without it the subscription fell through to subscribe
    // (409 already_subscribed) and expired unpaid. The failed order itself stays refused: paying the
    // row again replaces its provider, order id and callback token.
    const [renewal] = (await m.query(
      `SELECT p.id, p.amount_usd::text AS amount_usd, s.id AS subscription_id, s.billing_cycle
         FROM payments p JOIN user_subscriptions s ON s.id = p.subscription_id
        WHERE p.user_id = $1 AND p.plan_id = $2 AND p.kind = 'renewal'
          AND (p.status IN ('pending', 'expired') OR (p.status = 'failed' AND p.provider = 'coingate'))
          AND (p.provider IS NULL OR p.provider IN ('okx', 'coingate'))
          AND s.status IN ('active', 'trial', 'past_due') AND s.payment_method = 'crypto' AND p.period_start >= s.end_date
        ORDER BY p.period_end DESC LIMIT 1
        FOR UPDATE OF p`,
      [userId, plan.id],
    )) as Array<{ id: string; amount_usd: string; subscription_id: string; billing_cycle: BillingCycle }>;
    if (renewal) {
      return { subscriptionId: renewal.subscription_id, renewalPaymentId: renewal.id, cycle: renewal.billing_cycle, amountUsd: renewal.amount_usd };
    }
    // Only a new subscription needs the plan on sale (subscribe refuses one withdrawn: 400 plan_inactive);
    // the renewal above is its subscribers' to pay.
    const cycle = choice.billing_cycle ?? 'monthly';
    const amountUsd = new Decimal(planPrice(plan, cycle)).toFixed(2);
    if (new Decimal(amountUsd).isZero()) throw PaymentErrors.notPayableInCrypto();
    const sub = await this.subscriptions.subscribe(userId, { plan_id: plan.id, billing_cycle: cycle, payment_method: 'crypto', auto_renew: choice.auto_renew ?? true }, ctx, m);
    if (sub.status !== 'pending_payment' && sub.status !== 'trial') throw PaymentErrors.notPayableInCrypto();
    return { subscriptionId: sub.id, renewalPaymentId: null, cycle, amountUsd };
  }
}
