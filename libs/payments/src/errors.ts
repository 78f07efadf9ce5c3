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
  // Crypto (OKX deposits, CoinGate)
  cryptoNotConfigured: (what: string) => new DomainError('payments_not_configured', 503, `${what} payments are not configured on this server`),
  unsupportedCurrency: (ccy: string) =>
    new DomainError('unsupported_crypto_currency', 400, `${ccy} is not accepted`, [{ field: 'crypto_currency', message: 'must be one of BTC, ETH, USDT, USDC, SOL, BNB' }]),
  unsupportedNetwork: (ccy: string, networks: readonly string[]) =>
    new DomainError('unsupported_network', 400, `This network is not accepted for ${ccy}`, [{ field: 'network', message: `must be one of ${networks.join(', ')}` }]),
  notPayableInCrypto: () => new DomainError('not_payable_in_crypto', 409, 'This plan does not need a payment now (it is free or starts a trial without one)'),
  /** A renewal is one payment row (and a new subscription has one open quote): not switched while the one it has may still be paid. */
  renewalOpenElsewhere: (where: string, until: Date | null, what: 'renewal' | 'subscription' = 'renewal') =>
    new DomainError(
      'payment_in_progress',
      409,
      `This ${what} already has an open ${where} payment${until ? ` (until ${until.toISOString()})` : ''}: pay it there, or start another once it has expired`,
    ),
  subscriptionEnded: () => new DomainError('subscription_ended', 409, 'The subscription this payment was for has just ended; start a new payment'),
  noFreeAmount: () => new DomainError('crypto_amounts_exhausted', 503, 'Too many open payments on this address right now; try again in a few minutes'),
  paymentNotFound: () => new DomainError('payment_not_found', 404, 'No such payment'),
  depositNotFound: () => new DomainError('deposit_not_found', 404, 'No such unmatched deposit'),
  depositNotAssignable: () => new DomainError('deposit_not_assignable', 409, 'This deposit already settled a payment or is not credited yet'),
  paymentNotAssignable: () =>
    new DomainError('payment_not_assignable', 409, 'This payment cannot take the deposit (not an OKX payment in the same currency, or already completed)'),
  invalidCallback: () => new DomainError('invalid_callback', 400, 'Unknown payment or wrong token'),
} as const;
