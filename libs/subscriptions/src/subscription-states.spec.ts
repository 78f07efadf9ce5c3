import { DomainError } from '@torgovo/core';
import { assertTransition, canTransition, CURRENT_STATUSES, endsAtPeriodEnd, SUBSCRIPTION_STATUSES, SubscriptionStatus } from './subscription-states';

describe('subscription state machine', () => {
  const legal: Array<[SubscriptionStatus, SubscriptionStatus]> = [
    ['pending_payment', 'active'],
    ['pending_payment', 'trial'],
    ['pending_payment', 'cancelled'],
    ['pending_payment', 'expired'],
    ['trial', 'active'],
    ['trial', 'cancelled'],
    ['trial', 'expired'],
    ['trial', 'past_due'], // a card trial whose first charge failed
    ['active', 'active'],
    ['active', 'past_due'],
    ['active', 'cancelled'],
    ['active', 'expired'],
    ['past_due', 'active'],
    ['past_due', 'cancelled'],
    ['past_due', 'expired'],
  ];

  it('allows exactly the listed transitions', () => {
    for (const from of SUBSCRIPTION_STATUSES) {
      for (const to of SUBSCRIPTION_STATUSES) {
        const expected = legal.some(([f, t]) => f === from && t === to);
        expect([from, to, canTransition(from, to)]).toEqual([from, to, expected]);
      }
    }
  });

  it('cancelled and expired are terminal; an illegal move is 409 invalid_state', () => {
    for (const to of SUBSCRIPTION_STATUSES) {
      expect(canTransition('cancelled', to)).toBe(false);
      expect(canTransition('expired', to)).toBe(false);
    }
    let err: unknown;
    try {
      assertTransition('expired', 'cancelled', 'cancel');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid_state');
    expect((err as DomainError).status).toBe(409);
  });

  it('pending_payment is not a current state (a plan change waits beside the current plan)', () => {
    expect([...CURRENT_STATUSES].sort()).toEqual(['active', 'past_due', 'trial']);
  });

  it('ends at period end when either choice says so (one flag at the provider)', () => {
    expect(endsAtPeriodEnd({ cancel_at_period_end: false, auto_renew: true })).toBe(false);
    expect(endsAtPeriodEnd({ cancel_at_period_end: true, auto_renew: true })).toBe(true);
    expect(endsAtPeriodEnd({ cancel_at_period_end: false, auto_renew: false })).toBe(true);
  });
});
