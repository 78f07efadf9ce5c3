import { Decimal, PageResponse } from '@torgovo/core';
import type { Payment } from '../entities/payment.entity';

export class PaymentPlanSummary {
  id: string;
  code: string;
  name: string;
  plan_type: string;
}

export class PaymentResponse {
  payment_id: string;
  kind: Payment['kind'];
  provider: Payment['provider'];
  plan: PaymentPlanSummary | null;
  subscription_id: string | null;
  billing_cycle: Payment['billing_cycle'];
  amount_usd: string;
  currency: string;
  crypto_currency: string | null;
  crypto_amount: string | null;
  status: Payment['status'];
  tx_hash: string | null;
  failure_reason: string | null;
  period_start: string | null;
  period_end: string | null;
  created_at: string;
  confirmed_at: string | null;
  /**
   * When money was first returned on this payment: refunded automatically because it could not be
   * applied (failure_reason says why), refunded at Stripe, or a chargeback lost.
   */
  refunded_at: string | null;
  /** The money returned so far (decimal string, ≤ amount_usd; equal to it = refunded in full); null = none. */
  refunded_amount: string | null;
  /**
   * The card payment's dispute (chargeback or inquiry), as Stripe last reported it: open (needs_response,
   * under_review, warning_needs_response, warning_under_review…) or closed (won, lost, warning_closed,
   * prevented); null = never disputed. Access does not change while it is open; lost = refunded in full.
   */
  dispute_status: string | null;
  /** When the dispute was opened. */
  disputed_at: string | null;
}

export class PaymentPage extends PageResponse {
  items: PaymentResponse[];
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Provider ids (sessions, invoices, checkout URLs) stay out of the history: the user has the portal for those. */
export function toPaymentResponse(p: Payment, plan: PaymentPlanSummary | null): PaymentResponse {
  return {
    payment_id: p.id,
    kind: p.kind,
    provider: p.provider,
    plan,
    subscription_id: p.subscription_id,
    billing_cycle: p.billing_cycle,
    amount_usd: p.amount_usd,
    currency: p.currency,
    crypto_currency: p.crypto_currency,
    // numeric(38,18) comes back padded; the same spelling as the crypto endpoints.
    crypto_amount: p.crypto_amount === null ? null : new Decimal(p.crypto_amount).toFixed(),
    status: p.status,
    tx_hash: p.tx_hash,
    failure_reason: p.failure_reason,
    period_start: iso(p.period_start),
    period_end: iso(p.period_end),
    created_at: p.created_at.toISOString(),
    confirmed_at: iso(p.confirmed_at),
    refunded_at: iso(p.refunded_at),
    refunded_amount: p.refunded_amount ?? (p.refunded_at ? p.amount_usd : null),
    dispute_status: p.dispute_status,
    disputed_at: iso(p.disputed_at),
  };
}
