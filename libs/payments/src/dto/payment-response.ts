import { Decimal } from '@torgovo/core';
import type { Payment } from '../entities/payment.entity';

export interface PaymentPlanSummary {
  id: string;
  code: string;
  name: string;
  plan_type: string;
}

export interface PaymentResponse {
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
  };
}
