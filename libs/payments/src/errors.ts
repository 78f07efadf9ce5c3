import { DomainError } from '@torgovo/core';

export const PaymentErrors = {
  paymentInProgress: () =>
    new DomainError('payment_in_progress', 409, 'Your previous checkout for this subscription was paid and is being confirmed; no new checkout is needed'),
  notConfigured: () => new DomainError('payments_not_configured', 503, 'Card payments are not configured on this server'),
  planNotFound: () => new DomainError('plan_not_found', 400, 'No such subscription plan', [{ field: 'plan_id', message: 'unknown plan' }]),
  planInactive: () =>
    new DomainError('plan_inactive', 400, 'This plan is no longer offered', [{ field: 'plan_id', message: 'plan is not active' }]),
  noStripePrice: (cycle: string) =>
    new DomainError('stripe_price_missing', 400, `This plan cannot be paid by card ${cycle}`, [
      { field: 'billing_cycle', message: `the plan has no Stripe price for ${cycle} billing` },
    ]),
  notStripePending: () =>
    new DomainError('not_payable_by_card', 409, 'This plan does not need a card payment now (it is free or starts a trial without one)'),
  noCustomer: () => new DomainError('no_billing_account', 409, 'You have no card billing account yet; subscribe by card first'),
  invalidSignature: () => new DomainError('invalid_signature', 400, 'Invalid Stripe-Signature'),
  invalidEvent: () => new DomainError('invalid_event', 400, 'The webhook body is not a Stripe event object'),
  provider: () => new DomainError('payment_provider_error', 502, 'The payment provider did not answer; try again'),
} as const;
