import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig, AuditService, DomainError } from '@torgovo/core';
import type { BillingCycle } from '@torgovo/plans';
import { addBillingPeriods, SubscriptionActivationService } from '@torgovo/subscriptions';
import { StripeObligations } from '../stripe/stripe-obligations';
import { cancelOpenCryptoPayments } from './open-crypto-payments';
import { NOT_APPLIED } from './payment-notifier';
import { creditedMs } from './paid-time-credit';

/** A crypto payment that a guarded UPDATE has just moved to completed, in the caller's transaction. */
export interface CompletedCryptoPayment {
  id: string;
  user_id: string;
  subscription_id: string | null;
  kind: string;
  provider: 'okx' | 'coingate';
  amount_usd: string;
  crypto_currency: string | null;
  received_amount: string | null;
  tx_hash: string | null;
}

/** How the completion is recorded: who did it (null = the system) and what to add to the audit row. */
export interface CompletionContext {
  actorId: string | null;
  /** The admin's request, when an admin completes it. */
  ip?: string | null;
  user_agent?: string | null;
  event: 'payment.completed' | 'payment.assigned';
  data?: Record<string, unknown>;
}

interface ReplaceableRow {
  status: string;
  plan_type: string;
  billing_cycle: BillingCycle;
  new_price: string;
  old_price: string | null;
  /** The old subscription's periods ending after now, cut at its end_date. */
  old_periods: Array<{ start: string; end: string }> | null;
}

/** The unused paid periods of the current subscription a pending one is about to replace. */
const REPLACEABLE_SQL = `
  SELECT s.status, s.plan_type, s.billing_cycle,
         CASE WHEN s.billing_cycle = 'yearly' THEN p.yearly_price ELSE p.monthly_price END AS new_price,
         CASE WHEN o.billing_cycle = 'yearly' THEN op.yearly_price ELSE op.monthly_price END AS old_price,
         per.periods AS old_periods
    FROM user_subscriptions s
    JOIN subscription_plans p ON p.id = s.plan_id
    LEFT JOIN user_subscriptions o
      ON o.user_id = s.user_id AND o.plan_type = s.plan_type AND o.id <> s.id
     AND o.status IN ('active', 'past_due') AND o.payment_method IN ('crypto', 'stripe') AND o.end_date > $2
    LEFT JOIN subscription_plans op ON op.id = o.plan_id
    LEFT JOIN LATERAL (
      -- Every paid period not over yet: the current one and a renewal paid ahead of it (not one refunded in full).
      SELECT json_agg(json_build_object('start', period_start, 'end', least(period_end, o.end_date)) ORDER BY period_start) AS periods
        FROM subscription_periods WHERE subscription_id = o.id AND period_end > $2 AND period_start < o.end_date AND revoked_at IS NULL
    ) per ON true
   WHERE s.id = $1`;

/**
 * What follows a completed crypto payment, in the transaction that completed it: the
 * subscription is activated or extended (idempotent per payment id), a replaced card
 * subscription is queued for cancellation at Stripe (the cancel outbox, as the billing sweep
 * does), the replaced subscription's open crypto payments are closed, and the audit row written.
 */
@Injectable()
export class CryptoPaymentCompletion {
  private readonly logger = new Logger(CryptoPaymentCompletion.name);

  constructor(
    private readonly activation: SubscriptionActivationService,
    private readonly stripeCancels: StripeObligations,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async apply(m: EntityManager, payments: CompletedCryptoPayment[], ctx: CompletionContext, now: Date = new Date()): Promise<void> {
    for (const p of payments) {
      const outcome = await this.activate(m, p, now);
      await this.audit.record(
        {
          event_type: ctx.event,
          user_id: p.user_id,
          actor_id: ctx.actorId,
          data: {
            payment_id: p.id,
            provider: p.provider,
            kind: p.kind,
            subscription_id: p.subscription_id,
            amount_usd: p.amount_usd,
            crypto_currency: p.crypto_currency,
            received_amount: p.received_amount,
            tx_hash: p.tx_hash,
            activation: outcome,
            actor: ctx.actorId ? 'admin' : p.provider,
            ...ctx.data,
          },
          ip: ctx.ip ?? null,
          user_agent: ctx.user_agent ?? null,
        },
        m,
      );
    }
  }

  /**
   * The money arrived whatever happens to the subscription: a subscription that can no longer
   * be activated (cancelled meanwhile) leaves the payment completed and the reason in the audit
   * log for an admin, instead of rolling back the whole batch (which would retry it forever).
   */
  private async activate(m: EntityManager, p: CompletedCryptoPayment, now: Date): Promise<string> {
    if (!p.subscription_id) return 'no_subscription';
    const period = await this.firstPeriodWithCredit(m, p.subscription_id, now);
    await m.query('SAVEPOINT crypto_activation');
    try {
      const res = await this.activation.activate(
        p.subscription_id,
        { payment: { provider: p.provider, reference: p.id }, actorId: null, now, ...period },
        m,
      );
      if (res.replaced) {
        if (res.replaced.payment_method === 'stripe') {
          await this.stripeCancels.onSubscriptionsEnded(
            [{ subscription_id: res.replaced.id, user_id: res.replaced.user_id, plan_type: res.replaced.plan_type, reason: 'replaced' }],
            m,
          );
        }
        await cancelOpenCryptoPayments(m, [res.replaced.id], 'subscription_replaced');
      }
      await m.query('RELEASE SAVEPOINT crypto_activation');
      return res.applied ? 'applied' : 'already_applied';
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      await m.query('ROLLBACK TO SAVEPOINT crypto_activation');
      // Marked on the payment itself (the admin's payment list, the user's status and history show it),
      // and the user is told "received, not applied" instead of "confirmed" (PaymentNotifier).
      await m.query(`UPDATE payments SET failure_reason = $2, updated_at = now() WHERE id = $1`, [p.id, `${NOT_APPLIED}${err.code}`]);
      this.logger.error({ payment_id: p.id, subscription_id: p.subscription_id, code: err.code }, 'Crypto payment completed but the subscription could not be activated');
      return `failed:${err.code}`;
    }
  }

  /** A first period that replaces a paid one carries the unused paid time over (see paid-time-credit.ts). */
  private async firstPeriodWithCredit(m: EntityManager, subscriptionId: string, now: Date): Promise<{ periodStart?: Date; periodEnd?: Date }> {
    const [row] = (await m.query(REPLACEABLE_SQL, [subscriptionId, now])) as ReplaceableRow[];
    if (!row || row.status !== 'pending_payment' || !row.old_price || !row.old_periods?.length) return {};
    const start = now;
    const end = addBillingPeriods(start, 1, row.billing_cycle, this.config.env.APP_TIMEZONE);
    const extra = creditedMs({
      oldPeriods: row.old_periods.map((p) => ({ start: new Date(p.start), end: new Date(p.end) })),
      oldPriceUsd: row.old_price,
      newPeriodStart: start,
      newPeriodEnd: end,
      newPriceUsd: row.new_price,
      now,
    });
    return extra > 0 ? { periodStart: start, periodEnd: new Date(end.getTime() + extra) } : {};
  }
}
