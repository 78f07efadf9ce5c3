import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService, Decimal } from '@torgovo/core';
import { actorOf, AuditContext, PaidPeriodRevocation, SubscriptionProviderSyncService } from '@torgovo/subscriptions';
import { Payment } from './entities/payment.entity';

/** Why money went back: our own refund of money that could not be applied, a refund made at the provider, a chargeback lost. */
export type RefundCause = 'unapplied' | 'provider_refund' | 'dispute_lost';

export interface RefundInput {
  paymentId: string;
  /**
   * `total`: the provider's own running figure for the payment (Stripe's charge.amount_refunded), so a
   * repeated, late or out-of-order report never counts a refund twice; `added`: one refund of ours,
   * made once (its caller's own guard and idempotency key).
   */
  refunded: { total: string } | { added: string };
  refundId?: string | null;
  cause: RefundCause;
  at: Date;
  ctx: AuditContext;
  eventId: string | null;
  /** Extra audit fields (the charge, the refund's status). */
  data?: Record<string, unknown>;
}

export interface RefundResult {
  /** `refunded`: more money is recorded as returned; `no_change`: nothing more than already recorded. */
  outcome: 'refunded' | 'no_change';
  refundedAmount: string | null;
  full: boolean;
  /** What the subscription lost, when this refund made the payment refunded in full. */
  access: PaidPeriodRevocation | null;
}

export interface DisputeInput {
  paymentId: string;
  disputeId: string;
  /** The provider's dispute status (Stripe: needs_response, under_review, warning_*, won, lost, prevented…). */
  status: string;
  /** When the provider opened it. */
  openedAt: Date;
  ctx: AuditContext;
  eventId: string | null;
  data?: Record<string, unknown>;
}

export interface DisputeResult {
  outcome: 'opened' | 'updated' | 'closed' | 'no_change' | 'stale';
  refund: RefundResult | null;
}

/** A dispute in one of these is over: the provider never reopens it, so a later report of an open status is an older one. */
export const FINAL_DISPUTE_STATUSES: readonly string[] = ['won', 'lost', 'warning_closed', 'prevented'];

const isFinal = (status: string | null): boolean => status !== null && FINAL_DISPUTE_STATUSES.includes(status);

/** What a payment has returned so far (rows refunded before refunded_amount existed were refunded in full). */
function returned(p: Payment): Decimal {
  if (p.refunded_amount !== null) return new Decimal(p.refunded_amount);
  return p.refunded_at ? new Decimal(p.amount_usd) : new Decimal(0);
}

/**
 * The one place where a payment becomes refunded or disputed, whatever started it: our own automatic
 * refund (StripeObligations.refuse), a refund made at Stripe (its dashboard, the API), a chargeback.
 * Each call locks the payment row and writes its new state from what is recorded there, so a repeated
 * report, our own refund's echo from Stripe, or a late one changes nothing. A payment refunded in full
 * takes back what it bought through the subscriptions lib (revokePaidPeriod), which decides at that
 * moment what, if anything, it still pays for. Runs in the caller's transaction; callers hold the
 * user's billing lock (lockUserBilling), as every payment and subscription change does.
 */
@Injectable()
export class PaymentRefunds {
  private readonly logger = new Logger(PaymentRefunds.name);

  constructor(
    private readonly audit: AuditService,
    private readonly sync: SubscriptionProviderSyncService,
  ) {}

  async record(m: EntityManager, r: RefundInput): Promise<RefundResult> {
    const payments = m.getRepository(Payment);
    const p = await payments.findOneOrFail({ where: { id: r.paymentId }, lock: { mode: 'pessimistic_write' } });
    const amount = new Decimal(p.amount_usd);
    const before = returned(p);
    const asked = 'total' in r.refunded ? new Decimal(r.refunded.total) : before.plus(r.refunded.added);
    if (asked.gt(amount)) this.logger.warn({ payment_id: p.id, amount: p.amount_usd, refunded: asked.toFixed(2), cause: r.cause }, 'Refund reported above the payment amount: recorded as the amount');
    const after = Decimal.min(amount, Decimal.max(before, asked));
    if (after.lte(before)) {
      // Below what is recorded (a lost chargeback is no refund at Stripe): a refund that failed or was cancelled there since.
      if (asked.lt(before) && p.dispute_status !== 'lost') this.logger.error({ payment_id: p.id, recorded: before.toFixed(2), reported: asked.toFixed(2), event_id: r.eventId }, 'The provider reports less refunded than recorded; the record is kept: check the refunds by hand');
      if (r.refundId && !p.refund_id) await payments.update({ id: p.id }, { refund_id: r.refundId });
      return { outcome: 'no_change', refundedAmount: before.gt(0) ? before.toFixed(2) : null, full: before.gt(0) && before.eq(amount), access: null };
    }
    const full = after.eq(amount);
    await payments.update(
      { id: p.id },
      { refunded_amount: after.toFixed(2), refunded_at: p.refunded_at ?? r.at, ...(p.refund_id === null && r.refundId ? { refund_id: r.refundId } : {}) },
    );
    // Only the refund that completes it takes anything back: a partial refund leaves access as it is.
    const access = full && p.subscription_id && p.provider ? await this.sync.revokePaidPeriod(this.periodPaidBy(p), r.ctx, m) : null;
    await this.audit.record(
      {
        event_type: 'payment.refunded',
        user_id: p.user_id,
        actor_id: r.ctx.actorId ?? null,
        data: {
          payment_id: p.id,
          subscription_id: p.subscription_id,
          invoice_id: p.stripe_invoice_id,
          cause: r.cause,
          amount: after.minus(before).toFixed(2),
          refunded_amount: after.toFixed(2),
          full,
          refund_id: r.refundId ?? p.refund_id,
          access,
          stripe_event_id: r.eventId,
          actor: actorOf(r.ctx),
          ...(r.data ?? {}),
        },
        ip: r.ctx.ip ?? null,
        user_agent: r.ctx.user_agent ?? null,
      },
      m,
    );
    this.logger.warn({ payment_id: p.id, user_id: p.user_id, cause: r.cause, refunded_amount: after.toFixed(2), full, access }, 'Payment refunded');
    return { outcome: 'refunded', refundedAmount: after.toFixed(2), full, access };
  }

  /**
   * The provider's dispute of a payment. Access does not change while it is open (most are won or
   * withdrawn; the card network decides, not the customer's claim): a dispute lost is a full refund,
   * through record(); won or withdrawn clears it. A final status is never replaced by an open one
   * (a late or redelivered report of the dispute's earlier state).
   */
  async recordDispute(m: EntityManager, d: DisputeInput): Promise<DisputeResult> {
    const payments = m.getRepository(Payment);
    const p = await payments.findOneOrFail({ where: { id: d.paymentId }, lock: { mode: 'pessimistic_write' } });
    const known = p.dispute_id === d.disputeId;
    if (known && p.dispute_status === d.status) return { outcome: 'no_change', refund: null };
    if (known && isFinal(p.dispute_status)) {
      this.logger.log({ payment_id: p.id, dispute_id: d.disputeId, recorded: p.dispute_status, reported: d.status }, 'Older report of a closed dispute ignored');
      return { outcome: 'stale', refund: null };
    }
    if (!known && p.dispute_id && !isFinal(p.dispute_status)) {
      this.logger.error({ payment_id: p.id, open_dispute_id: p.dispute_id, dispute_id: d.disputeId }, 'A second dispute while one is open on the payment: the newer one is recorded');
    }
    await payments.update({ id: p.id }, { dispute_id: d.disputeId, dispute_status: d.status, disputed_at: known ? p.disputed_at : d.openedAt });
    const base = { payment_id: p.id, subscription_id: p.subscription_id, invoice_id: p.stripe_invoice_id, dispute_id: d.disputeId, status: d.status, amount: p.amount_usd, stripe_event_id: d.eventId, actor: actorOf(d.ctx), ...(d.data ?? {}) };
    const entry = (event: string) => ({ event_type: event, user_id: p.user_id, actor_id: d.ctx.actorId ?? null, data: base, ip: d.ctx.ip ?? null, user_agent: d.ctx.user_agent ?? null });
    if (!known) await this.audit.record(entry('payment.disputed'), m);
    const closed = isFinal(d.status);
    if (closed) await this.audit.record(entry('payment.dispute_closed'), m);
    else if (known) await this.audit.record(entry('payment.dispute_updated'), m);
    this.logger.warn({ payment_id: p.id, user_id: p.user_id, dispute_id: d.disputeId, status: d.status, previous: known ? p.dispute_status : null }, closed ? 'Payment dispute closed' : 'Payment disputed');
    const refund = d.status === 'lost' ? await this.record(m, { paymentId: p.id, refunded: { total: p.amount_usd }, cause: 'dispute_lost', at: new Date(), ctx: d.ctx, eventId: d.eventId, data: { dispute_id: d.disputeId } }) : null;
    return { outcome: closed ? 'closed' : known ? 'updated' : 'opened', refund };
  }

  /** The subscription period this payment bought is keyed by what activated it (SubscriptionActivationService's payment reference). */
  private periodPaidBy(p: Payment): { provider: string; reference: string } {
    return { provider: p.provider as string, reference: p.provider === 'stripe' ? (p.stripe_invoice_id ?? p.id) : p.id };
  }
}
