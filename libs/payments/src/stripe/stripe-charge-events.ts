import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type Stripe from 'stripe';
import { AuditContext, lockUserBilling } from '@torgovo/subscriptions';
import { Payment } from '../entities/payment.entity';
import { PaymentRefunds, RefundResult } from '../payment-refunds';
import { EventContext, HandleResult, StripeEventHandlers } from './stripe-event-handlers';
import { isInvalidRequest, StripeGateway } from './stripe-gateway';
import { fromUnix, idOf, minorToDecimal } from './stripe-objects';

/** Events about the money of a charge after it was paid: refunds (ours echoed back, or made at Stripe) and disputes. */
export const STRIPE_CHARGE_EVENTS: readonly string[] = [
  'charge.refunded',
  'charge.refund.updated',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
];

/** What identifies a charge's payment: its PaymentIntent (API 2025-03-31 and later), or the invoice older API versions name on the charge. */
interface ChargeRef {
  chargeId: string | null;
  paymentIntentId: string | null;
  legacyInvoiceId: string | null;
}

type Loose = Record<string, unknown>;

const isMissing = (err: unknown): boolean => isInvalidRequest(err) && err.code === 'resource_missing';

const NO_USER = (outcome: string, data?: Record<string, unknown>): HandleResult => ({ outcome, userId: null, ...(data ? { data } : {}) });

/**
 * Refunds and disputes of our card payments, whoever made them: each is recorded on the payment row
 * through PaymentRefunds, the one path of "a payment was refunded" (our own automatic refund goes
 * there too, so its echo from Stripe finds it recorded and changes nothing). A charge is ours when its
 * invoice is one of our payments (payment rows keep the Stripe invoice id; the charge names its
 * PaymentIntent, which Stripe maps back to the invoice). Refund amounts come from the charge's own
 * running total (amount_refunded, read back from Stripe), never from adding up events, so a repeated,
 * late or out-of-order event cannot count a refund twice. A charge we do not know is logged and acknowledged; nothing is written.
 */
@Injectable()
export class StripeChargeEvents {
  private readonly logger = new Logger(StripeChargeEvents.name);

  constructor(
    private readonly gateway: StripeGateway,
    private readonly invoices: StripeEventHandlers,
    private readonly refunds: PaymentRefunds,
  ) {}

  apply(event: Stripe.Event, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    switch (event.type) {
      case 'charge.refunded':
        return this.refunded(event.data.object.id, null, ctx, m);
      case 'charge.refund.updated':
      case 'refund.created':
      case 'refund.updated':
      case 'refund.failed': {
        const refund = event.data.object;
        const chargeId = idOf(refund.charge);
        if (!chargeId) return Promise.resolve(this.unknownCharge({ chargeId: null, paymentIntentId: idOf(refund.payment_intent), legacyInvoiceId: null }, ctx));
        return this.refunded(chargeId, refund, ctx, m);
      }
      case 'charge.dispute.created':
      case 'charge.dispute.updated':
      case 'charge.dispute.closed':
        return this.disputeChanged(event.data.object, ctx, m);
      default:
        return Promise.resolve(NO_USER('ignored_type'));
    }
  }

  /**
   * The charge is read back from Stripe, not taken from the event: its amount_refunded now counts
   * every refund that stands (an event's snapshot may be older than one already applied, and a
   * refund that failed since is no longer in it).
   */
  private async refunded(chargeId: string, refund: Stripe.Refund | null, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const charge = await this.readBack('charges.retrieve', (s) => s.charges.retrieve(chargeId));
    if (!charge) return this.unknownCharge({ chargeId, paymentIntentId: null, legacyInvoiceId: null }, ctx, { missing_at_stripe: true });
    const found = await this.paymentOf(m, this.refOf(charge), ctx);
    if ('outcome' in found) return found;
    const res = await this.refunds.record(m, {
      paymentId: found.id,
      refunded: { total: minorToDecimal(charge.amount_refunded) },
      refundId: refund?.id ?? null,
      cause: 'provider_refund',
      at: ctx.created,
      ctx: this.auditCtx(ctx),
      eventId: ctx.eventId,
      data: { charge_id: charge.id, ...(refund ? { refund_status: refund.status } : {}) },
    });
    return { outcome: this.refundOutcome(res), userId: found.user_id, data: { payment_id: found.id, refunded_amount: res.refundedAmount, access: res.access } };
  }

  /**
   * Access does not change while a dispute is open: a lost one is a full refund (through the same
   * path as any refund), a won or withdrawn one clears it. The dispute is read back from Stripe, as
   * the charge of a refund is: an event's snapshot may be older than the state already recorded.
   */
  private async disputeChanged(reported: Stripe.Dispute, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    const dispute = await this.readBack('disputes.retrieve', (s) => s.disputes.retrieve(reported.id));
    if (!dispute) return this.unknownCharge({ chargeId: idOf(reported.charge), paymentIntentId: idOf(reported.payment_intent), legacyInvoiceId: null }, ctx, { dispute_id: reported.id, missing_at_stripe: true });
    let ref: ChargeRef = { chargeId: idOf(dispute.charge), paymentIntentId: idOf(dispute.payment_intent), legacyInvoiceId: null };
    if (!ref.paymentIntentId && ref.chargeId) {
      const chargeId = ref.chargeId;
      const charge = await this.readBack('charges.retrieve', (s) => s.charges.retrieve(chargeId));
      if (charge) ref = this.refOf(charge);
    }
    const found = await this.paymentOf(m, ref, ctx);
    if ('outcome' in found) return found;
    const res = await this.refunds.recordDispute(m, {
      paymentId: found.id,
      disputeId: dispute.id,
      status: dispute.status,
      openedAt: fromUnix(dispute.created),
      ctx: this.auditCtx(ctx),
      eventId: ctx.eventId,
      data: { charge_id: ref.chargeId, reason: dispute.reason, disputed_amount: minorToDecimal(dispute.amount) },
    });
    const outcome = res.refund ? `dispute_lost_${this.refundOutcome(res.refund)}` : `dispute_${res.outcome}`;
    return { outcome, userId: found.user_id, data: { payment_id: found.id, dispute_id: dispute.id, dispute_status: dispute.status, access: res.refund?.access ?? null } };
  }

  /**
   * Our payment row for a charge, with the user's billing lock taken. A charge whose invoice.paid has
   * not reached us yet (Stripe sends events in any order) has its invoice applied first, as that event
   * will (the same handler; it is then a no-op), so a refund or dispute is never lost for arriving early.
   */
  private async paymentOf(m: EntityManager, ref: ChargeRef, ctx: EventContext): Promise<Payment | HandleResult> {
    const invoiceId = ref.legacyInvoiceId ?? (ref.paymentIntentId ? await this.invoiceOfPaymentIntent(ref.paymentIntentId) : null);
    if (!invoiceId) return this.unknownCharge(ref, ctx);
    const payments = m.getRepository(Payment);
    let payment = await payments.findOne({ where: { provider: 'stripe', stripe_invoice_id: invoiceId } });
    if (!payment || payment.status !== 'completed') {
      const invoice = await this.gateway.call('invoices.retrieve', (s) => s.invoices.retrieve(invoiceId));
      if (invoice.status !== 'paid') return this.unknownCharge(ref, ctx, { invoice_id: invoiceId, invoice_status: invoice.status });
      // Applied as its own invoice.paid (delivered later) would be, at the time it was paid.
      const paidAt = invoice.status_transitions?.paid_at ?? invoice.created;
      const applied = (await this.invoices.applyPaidInvoice(invoice, { ...ctx, created: fromUnix(paidAt) }, m)).outcome;
      payment = await payments.findOne({ where: { provider: 'stripe', stripe_invoice_id: invoiceId } });
      if (!payment) return this.unknownCharge(ref, ctx, { invoice_id: invoiceId, invoice_outcome: applied });
      this.logger.log({ invoice_id: invoiceId, outcome: applied, event_id: ctx.eventId }, 'Paid invoice applied before its own event: a refund or dispute of its charge came first');
    }
    await lockUserBilling(m, payment.user_id);
    return payment;
  }

  /** null when Stripe does not know the object (an event of another account or mode): such a charge is none of ours. */
  private async readBack<T>(what: string, fn: (stripe: Stripe) => Promise<T>): Promise<T | null> {
    try {
      return await this.gateway.call(what, fn, isMissing);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  private async invoiceOfPaymentIntent(paymentIntentId: string): Promise<string | null> {
    const list = await this.gateway.call('invoicePayments.list', (s) => s.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntentId }, limit: 1 }));
    return idOf(list.data[0]?.invoice);
  }

  private refOf(charge: Stripe.Charge): ChargeRef {
    return { chargeId: charge.id, paymentIntentId: idOf(charge.payment_intent), legacyInvoiceId: idOf((charge as unknown as Loose).invoice) };
  }

  private refundOutcome(res: RefundResult): string {
    if (res.outcome === 'no_change') return 'already_recorded';
    return res.full ? `refunded_${res.access ?? 'full'}` : 'refunded_partial';
  }

  private auditCtx(ctx: EventContext): AuditContext {
    return { actorId: null, actor: 'provider', ip: ctx.ip, user_agent: ctx.userAgent };
  }

  private unknownCharge(ref: ChargeRef, ctx: EventContext, data: Record<string, unknown> = {}): HandleResult {
    this.logger.warn({ charge_id: ref.chargeId, payment_intent: ref.paymentIntentId, event_id: ctx.eventId, ...data }, 'Stripe event for a charge that is none of our payments ignored');
    return NO_USER('unknown_charge', { charge_id: ref.chargeId, ...data });
  }
}
