import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager, In, IsNull } from 'typeorm';
import { AuditEntry, AuditService } from '@torgovo/core';
import type { BillingCycle } from '@torgovo/plans';
import { Payment, PaymentKind } from '../entities/payment.entity';
import { StripePeriod } from './stripe-objects';

export interface InvoiceFacts {
  userId: string;
  subscriptionId: string;
  planId: string;
  billingCycle: BillingCycle;
  stripeSubscriptionId: string;
  invoiceId: string;
  kind: PaymentKind;
  /** Decimal string in `currency`. */
  amount: string;
  currency: string;
  period: StripePeriod | null;
  failureReason?: string | null;
}

export interface AuditMeta {
  ip: string | null;
  user_agent: string | null;
  event_id: string;
}

/**
 * Payment rows for Stripe invoices: one per invoice (unique stripe_invoice_id). The first
 * invoice completes the pending payment the checkout created. Callers hold the user's
 * billing lock, so find-then-write cannot race; the unique index is the backstop.
 */
@Injectable()
export class StripePaymentRecords {
  constructor(private readonly audit: AuditService) {}

  async isPaid(m: EntityManager, invoiceId: string): Promise<boolean> {
    return m.getRepository(Payment).exists({ where: { stripe_invoice_id: invoiceId, status: 'completed' } });
  }

  /** Returns the payment id and whether this call changed it (a completed payment never goes back). */
  recordPaid(m: EntityManager, f: InvoiceFacts, meta: AuditMeta): Promise<{ id: string; changed: boolean }> {
    return this.record(m, f, 'completed', meta);
  }

  recordFailed(m: EntityManager, f: InvoiceFacts, meta: AuditMeta): Promise<{ id: string; changed: boolean }> {
    return this.record(m, f, 'failed', meta);
  }

  private async record(m: EntityManager, f: InvoiceFacts, status: 'completed' | 'failed', meta: AuditMeta): Promise<{ id: string; changed: boolean }> {
    const existing = await this.find(m, f);
    if (existing?.status === 'completed') return { id: existing.id, changed: false };
    const values = this.values(f, status);
    const id = existing ? existing.id : await this.insert(m, f, values);
    if (existing) await m.getRepository(Payment).update({ id }, values);
    await this.audit.record(this.entry(status === 'completed' ? 'payment.completed' : 'payment.failed', id, f, meta), m);
    return { id, changed: true };
  }

  private async find(m: EntityManager, f: InvoiceFacts): Promise<Payment | null> {
    const repo = m.getRepository(Payment);
    const byInvoice = await repo.findOne({ where: { stripe_invoice_id: f.invoiceId } });
    if (byInvoice || f.kind !== 'subscription') return byInvoice;
    // The checkout's own payment (checkout.session.completed names its Stripe subscription), else
    // the newest one not tied to another Stripe subscription (invoice.paid came first).
    const open = { subscription_id: f.subscriptionId, provider: 'stripe' as const, kind: 'subscription' as const, stripe_invoice_id: IsNull(), status: In(['pending', 'failed', 'expired']) };
    return (
      (await repo.findOne({ where: { ...open, stripe_subscription_id: f.stripeSubscriptionId }, order: { created_at: 'DESC' } })) ??
      repo.findOne({ where: { ...open, stripe_subscription_id: IsNull() }, order: { created_at: 'DESC' } })
    );
  }

  private values(f: InvoiceFacts, status: 'completed' | 'failed'): Partial<Payment> {
    return {
      status,
      stripe_invoice_id: f.invoiceId,
      stripe_subscription_id: f.stripeSubscriptionId,
      amount_usd: f.amount,
      currency: f.currency,
      period_start: f.period?.start ?? null,
      period_end: f.period?.end ?? null,
      confirmed_at: status === 'completed' ? new Date() : null,
      failure_reason: status === 'failed' ? (f.failureReason ?? 'payment_failed').slice(0, 255) : null,
    };
  }

  private async insert(m: EntityManager, f: InvoiceFacts, values: Partial<Payment>): Promise<string> {
    const row = m.getRepository(Payment).create({
      id: randomUUID(),
      user_id: f.userId,
      subscription_id: f.subscriptionId,
      plan_id: f.planId,
      kind: f.kind,
      provider: 'stripe',
      billing_cycle: f.billingCycle,
      ...values,
    });
    await m.getRepository(Payment).insert(row);
    return row.id;
  }

  private entry(event: string, paymentId: string, f: InvoiceFacts, meta: AuditMeta): AuditEntry {
    return {
      event_type: event,
      user_id: f.userId,
      actor_id: null,
      data: {
        payment_id: paymentId,
        subscription_id: f.subscriptionId,
        invoice_id: f.invoiceId,
        kind: f.kind,
        amount: f.amount,
        currency: f.currency,
        failure_reason: f.failureReason ?? null,
        stripe_event_id: meta.event_id,
        actor: 'provider',
      },
      ip: meta.ip,
      user_agent: meta.user_agent,
    };
  }
}
