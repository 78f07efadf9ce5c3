import { DomainError } from '@torgovo/core';
import type { PlanType } from '@torgovo/plans';

export const SubscriptionErrors = {
  notFound: () => new DomainError('not_found', 404, 'Subscription not found'),
  planNotFound: () =>
    new DomainError('plan_not_found', 400, 'No such subscription plan', [{ field: 'plan_id', message: 'unknown plan' }]),
  planInactive: () =>
    new DomainError('plan_inactive', 400, 'This plan is no longer offered', [{ field: 'plan_id', message: 'plan is not active' }]),
  paymentMethodRequired: () =>
    new DomainError('payment_method_required', 400, 'A paid plan needs payment_method stripe or crypto', [
      { field: 'payment_method', message: 'must be stripe or crypto for a paid plan' },
    ]),
  alreadySubscribed: (planType: PlanType) =>
    new DomainError('already_subscribed', 409, `You already have a current ${planType} subscription on this plan or a paid one to cancel first`),
  pendingExists: (id: string) =>
    new DomainError('pending_subscription_exists', 409, 'Another subscription of this type is waiting for payment; cancel it first', [
      { field: 'subscription_id', message: id },
    ]),
  cardPaymentsOff: () =>
    new DomainError('payments_not_configured', 503, 'Card payments are not available on this server; choose crypto', [
      { field: 'payment_method', message: 'stripe is not configured' },
    ]),
  concurrentChange: () =>
    new DomainError('already_subscribed', 409, 'A subscription of this type was created at the same time; reload and retry'),
  ended: (status: string) => new DomainError('invalid_state', 409, `Cannot change a subscription that is ${status}`),
  noPeriodEnd: () =>
    new DomainError('invalid_state', 409, 'This subscription has no period end; cancel it now instead'),
  /** The account was deactivated or erased while the request was under way (the guard let it in before). */
  accountInactive: () => new DomainError('unauthorized', 401, 'The account is deactivated'),
  paymentAlreadyApplied: () =>
    new DomainError('payment_reference_conflict', 409, 'This payment was already applied to another subscription'),
} as const;

export const EntitlementErrors = {
  noActiveSubscription: (planType: PlanType) =>
    new DomainError('no_active_subscription', 403, `An active ${planType} subscription is required`),
  planLimit: (message: string) => new DomainError('plan_limit', 403, message),
  liveTradingNotAllowed: () => new DomainError('live_trading_not_allowed', 403, 'Your plan allows paper trading only'),
} as const;
