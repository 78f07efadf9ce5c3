import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig, AuditEntry, AuditService } from '@torgovo/core';
import type { BillingCycle, PlanType } from '@torgovo/plans';
import { BillingConfig } from './billing-config';
import { nextPeriodEnd } from './billing-period';
import { RenewalRequestItem, SubscriptionEndedEvent, SubscriptionHooks } from './subscription-hooks';
import { EndReason, isCurrent, SubscriptionStatus } from './subscription-states';

export interface SweepResult {
  rows: number;
  batches: number;
}

interface MovedRow {
  id: string;
  user_id: string;
  plan_id: string;
  plan_type: PlanType;
  old_status: SubscriptionStatus;
  new_status: 'expired' | 'past_due';
  reason: EndReason | 'renewal_payment_due';
  end_date: Date | null;
}

interface RenewalRow {
  id: string;
  user_id: string;
  plan_id: string;
  status: SubscriptionStatus;
  billing_cycle: BillingCycle;
  end_date: Date;
  period_anchor: Date | null;
  amount_usd: string;
}

// A safety stop: a tick never loops forever even if a row kept matching.
const MAX_BATCHES_PER_SWEEP = 10_000;

/**
 * One claim-and-move per batch: the due rows are locked with SKIP LOCKED (so concurrent
 * sweepers split the work and none is moved twice), moved by the same statement, and
 * their audit rows and end notifications written in the same transaction.
 * Rules: active/trial past end_date; past_due past the grace period (or no longer
 * renewable); pending_payment never paid within BILLING_PENDING_TTL_HOURS. An active,
 * renewable crypto subscription goes to past_due first and keeps access during the grace.
 * One the provider renews itself (a card subscription linked to Stripe, trial included) is
 * left as it is after end_date: it is past due only when Stripe says so (its webhook), and
 * expires here only when the grace ends without a paid renewal — no past_due flicker for the
 * hour between end_date and Stripe's charge. A subscription with a payment open or in flight at
 * the provider (payment_hold_until: a Checkout Session, a bank debit, a crypto quote and its
 * deposit's crediting) is not expired under that payment; a renewable one still goes past due.
 */
// Same rule as isRenewable (entitlements.service.ts), which decides access before the sweep runs.
export const RENEWABLE_SQL = `(auto_renew AND NOT cancel_at_period_end AND payment_method <> 'none'
                    AND (status = 'active' OR (status = 'trial' AND stripe_subscription_id IS NOT NULL)))`;
const PROVIDER_RENEWED = `(payment_method = 'stripe' AND stripe_subscription_id IS NOT NULL)`;
const PAYMENT_HELD = `(payment_hold_until IS NOT NULL AND payment_hold_until > $1)`;
const EXPIRE_SQL = `
  WITH due AS (
    SELECT id, status AS old_status,
      CASE WHEN ${RENEWABLE_SQL} AND end_date > $2 THEN 'past_due' ELSE 'expired' END AS new_status,
      CASE WHEN status = 'pending_payment' THEN 'payment_not_received'
           WHEN status = 'trial' AND NOT ${RENEWABLE_SQL} THEN 'trial_ended'
           WHEN cancel_at_period_end THEN 'cancelled_at_period_end'
           WHEN NOT auto_renew OR payment_method = 'none' THEN 'period_ended'
           WHEN status IN ('active', 'trial') AND end_date > $2 THEN 'renewal_payment_due'
           ELSE 'payment_overdue' END AS reason
    FROM user_subscriptions
    WHERE (status IN ('active', 'trial') AND end_date <= $1
           AND NOT (${RENEWABLE_SQL} AND ${PROVIDER_RENEWED} AND end_date > $2)
           AND NOT (${PAYMENT_HELD} AND (status = 'trial' OR NOT (${RENEWABLE_SQL} AND end_date > $2))))
       OR (status = 'past_due' AND (end_date <= $2 OR cancel_at_period_end OR NOT auto_renew) AND NOT ${PAYMENT_HELD})
       OR (status = 'pending_payment' AND created_at <= $3 AND NOT ${PAYMENT_HELD})
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE user_subscriptions s
    SET status = due.new_status,
        end_reason = CASE WHEN due.new_status = 'expired' THEN due.reason END,
        ended_at = CASE WHEN due.new_status = 'expired' THEN $1::timestamptz END,
        updated_at = now()
    FROM due
    WHERE s.id = due.id
    RETURNING s.id, s.user_id, s.plan_id, s.plan_type, due.old_status, due.new_status, due.reason, s.end_date
  )
  SELECT * FROM moved`;

/**
 * A trial that replaced the user's free plan ended unpaid: the free plan comes back (a new row;
 * the replaced one is final), so the user is never left with no plan. Skipped when the free plan
 * was retired or another current subscription of the type exists.
 */
const RESTORE_FREE_SQL = `
  INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, replaces_id)
  SELECT t.user_id, old.plan_id, old.plan_type, 'active', old.billing_cycle, 'none', false, $2::timestamptz, NULL, t.id
    FROM user_subscriptions t
    JOIN user_subscriptions old ON old.id = t.replaces_id AND old.payment_method = 'none'
    JOIN subscription_plans p ON p.id = old.plan_id AND p.is_active
   WHERE t.id = ANY($1::uuid[])
     AND NOT EXISTS (SELECT 1 FROM user_subscriptions c
                      WHERE c.user_id = t.user_id AND c.plan_type = t.plan_type AND c.status IN ('active', 'trial', 'past_due'))
  RETURNING id, user_id, plan_id, plan_type, replaces_id`;

/** Marks the period as requested (once per end_date) and hands back what the payment request needs. */
const RENEWAL_SQL = `
  WITH due AS (
    SELECT id FROM user_subscriptions
    WHERE status IN ('active', 'trial', 'past_due') AND payment_method = 'crypto' AND auto_renew AND NOT cancel_at_period_end
      AND end_date <= $1
      AND renewal_requested_for IS DISTINCT FROM end_date
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ), marked AS (
    UPDATE user_subscriptions s SET renewal_requested_for = s.end_date
    FROM due WHERE s.id = due.id
    RETURNING s.id, s.user_id, s.plan_id, s.status, s.billing_cycle, s.end_date, s.period_anchor
  )
  SELECT m.*, CASE WHEN m.billing_cycle = 'yearly' THEN p.yearly_price ELSE p.monthly_price END AS amount_usd
  FROM marked m JOIN subscription_plans p ON p.id = m.plan_id`;

@Injectable()
export class BillingSweeps {
  private readonly logger = new Logger(BillingSweeps.name);
  private warnedNoRequester = false;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
    private readonly hooks: SubscriptionHooks,
  ) {}

  /** Expire (or move to past_due) every due subscription, in batches of BILLING_SWEEP_BATCH. */
  async expireDue(now: Date = new Date()): Promise<SweepResult> {
    const graceCutoff = new Date(now.getTime() - this.billing.graceMs);
    const pendingCutoff = new Date(now.getTime() - this.billing.BILLING_PENDING_TTL_HOURS * 3_600_000);
    return this.inBatches((m) => this.expireBatch(m, now, graceCutoff, pendingCutoff));
  }

  /** Create renewal payment requests for crypto subscriptions ending within BILLING_RENEWAL_LEAD_DAYS. */
  async requestRenewals(now: Date = new Date()): Promise<SweepResult> {
    const requester = this.hooks.renewals;
    if (!requester) {
      // Nothing is marked, so the requests are made once payments registers (before the grace ends).
      if (!this.warnedNoRequester) this.logger.warn('No RenewalRequester registered (is PaymentsModule imported?); renewals skipped');
      this.warnedNoRequester = true;
      return { rows: 0, batches: 0 };
    }
    const leadCutoff = new Date(now.getTime() + this.billing.BILLING_RENEWAL_LEAD_DAYS * 86_400_000);
    const tz = this.config.env.APP_TIMEZONE;
    return this.inBatches(async (m) => {
      const rows = (await m.query(RENEWAL_SQL, [leadCutoff, this.billing.BILLING_SWEEP_BATCH])) as RenewalRow[];
      const items: RenewalRequestItem[] = rows.map((r) => ({
        subscription_id: r.id,
        user_id: r.user_id,
        plan_id: r.plan_id,
        billing_cycle: r.billing_cycle,
        amount_usd: r.amount_usd,
        period_start: r.end_date,
        period_end: nextPeriodEnd(r.period_anchor ?? r.end_date, r.end_date, r.billing_cycle, tz),
        // A trial ends at end_date; a renewable paid subscription keeps access through the grace.
        due_at: r.status === 'trial' ? r.end_date : new Date(r.end_date.getTime() + this.billing.graceMs),
      }));
      if (items.length > 0) await requester.requestRenewals(items, m);
      return rows.length;
    });
  }

  private async expireBatch(m: EntityManager, now: Date, graceCutoff: Date, pendingCutoff: Date): Promise<number> {
    const rows = (await m.query(EXPIRE_SQL, [now, graceCutoff, pendingCutoff, this.billing.BILLING_SWEEP_BATCH])) as MovedRow[];
    if (rows.length === 0) return 0;
    const entries: AuditEntry[] = rows.map((r) => ({
      actor_id: null,
      event_type: r.new_status === 'expired' ? 'subscription.expired' : 'subscription.past_due',
      user_id: r.user_id,
      data: {
        subscription_id: r.id,
        plan_id: r.plan_id,
        plan_type: r.plan_type,
        from: r.old_status,
        to: r.new_status,
        reason: r.reason,
        end_date: r.end_date?.toISOString() ?? null,
        actor: 'system',
        job: 'billing_scheduler',
      },
    }));
    await this.audit.insertMany(entries, m);
    const trialsEnded = rows.filter((r) => r.old_status === 'trial' && r.new_status === 'expired').map((r) => r.id);
    if (trialsEnded.length > 0) await this.restoreFree(m, trialsEnded, now);
    const ended: SubscriptionEndedEvent[] = rows
      .filter((r) => r.new_status === 'expired' && isCurrent(r.old_status))
      .map((r) => ({ subscription_id: r.id, user_id: r.user_id, plan_type: r.plan_type, reason: r.reason as EndReason }));
    await this.hooks.notifyEnded(ended, m);
    return rows.length;
  }

  private async restoreFree(m: EntityManager, trialIds: string[], now: Date): Promise<void> {
    const restored = (await m.query(RESTORE_FREE_SQL, [trialIds, now])) as Array<{ id: string; user_id: string; plan_id: string; plan_type: PlanType; replaces_id: string }>;
    await this.audit.insertMany(
      restored.map((r) => ({
        actor_id: null,
        event_type: 'subscription.created',
        user_id: r.user_id,
        data: { subscription_id: r.id, plan_id: r.plan_id, plan_type: r.plan_type, status: 'active', reason: 'free_plan_restored_after_trial', trial_id: r.replaces_id, actor: 'system' },
      })),
      m,
    );
  }

  private async inBatches(batch: (m: EntityManager) => Promise<number>): Promise<SweepResult> {
    const result: SweepResult = { rows: 0, batches: 0 };
    for (let i = 0; i < MAX_BATCHES_PER_SWEEP; i++) {
      const n = await this.ds.transaction(batch);
      result.rows += n;
      result.batches += 1;
      // A short batch means nothing claimable is left (rows locked by another sweeper are theirs).
      if (n < this.billing.BILLING_SWEEP_BATCH) break;
    }
    return result;
  }
}
