import { DomainError } from '@torgovo/core';

export const SUBSCRIPTION_STATUSES = ['active', 'cancelled', 'expired', 'trial', 'pending_payment', 'past_due'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * The states that count as "the user's subscription of this plan type": at most one per
 * (user, plan_type), by the partial unique index user_subscriptions_one_current.
 * past_due keeps access during the grace period. pending_payment is deliberately not
 * current: a plan change waits there while the old plan keeps working, and activation
 * swaps them in one transaction (index user_subscriptions_one_pending allows one pending).
 */
export const CURRENT_STATUSES: readonly SubscriptionStatus[] = ['active', 'trial', 'past_due'];
export const TERMINAL_STATUSES: readonly SubscriptionStatus[] = ['cancelled', 'expired'];

export const PAYMENT_METHODS = ['stripe', 'crypto', 'none'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** Every legal move; anything else is 409 invalid_state. */
const TRANSITIONS: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  pending_payment: ['active', 'trial', 'cancelled', 'expired'],
  trial: ['active', 'past_due', 'cancelled', 'expired'], // past_due: a card trial's first charge failed
  active: ['active', 'past_due', 'cancelled', 'expired'],
  past_due: ['active', 'cancelled', 'expired'],
  cancelled: [],
  expired: [],
};

export function canTransition(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: SubscriptionStatus, to: SubscriptionStatus, action: string): void {
  if (!canTransition(from, to)) {
    throw new DomainError('invalid_state', 409, `Cannot ${action} a subscription that is ${from}`, [
      { field: 'status', message: `${from} → ${to} is not allowed` },
    ]);
  }
}

export function isCurrent(status: SubscriptionStatus): boolean {
  return CURRENT_STATUSES.includes(status);
}

/** Why a subscription left the current states; stored in end_reason and sent to end listeners. */
export type EndReason =
  | 'cancelled_by_user'
  | 'cancelled_at_period_end'
  | 'period_ended'
  | 'trial_ended'
  | 'payment_overdue'
  | 'payment_not_received'
  | 'replaced'
  | 'account_erased'
  | 'payment_refunded';

/**
 * Whether the subscription ends at end_date instead of renewing. A provider that renews it
 * (Stripe) has one flag for both of our choices, so auto_renew=false is mirrored there as
 * cancel at period end too.
 */
export function endsAtPeriodEnd(sub: { cancel_at_period_end: boolean; auto_renew: boolean }): boolean {
  return sub.cancel_at_period_end || !sub.auto_renew;
}
