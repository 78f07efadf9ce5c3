import { PageResponse } from '@torgovo/core';
import { PlanResponse, toPlanResponse } from '@torgovo/plans';
import type { BillingCycle, PlanType } from '@torgovo/plans';
import { UserSubscription } from '../entities/user-subscription.entity';
import type { EndReason, PaymentMethod, SubscriptionStatus } from '../subscription-states';

export class SubscriptionResponse {
  id: string;
  plan_id: string;
  plan_type: PlanType;
  plan: PlanResponse | null;
  status: SubscriptionStatus;
  start_date: string | null;
  end_date: string | null;
  trial_ends_at: string | null;
  auto_renew: boolean;
  payment_method: PaymentMethod;
  billing_cycle: BillingCycle;
  cancel_at_period_end: boolean;
  cancelled_at: string | null;
  ended_at: string | null;
  end_reason: EndReason | null;
  replaces_id: string | null;
  created_at: string;
  updated_at: string;
}

export class SubscriptionPage extends PageResponse {
  items: SubscriptionResponse[];
}

export class SubscriptionsByPlanType {
  custom_bot: SubscriptionResponse | null;
  managed_bot: SubscriptionResponse | null;
}

export class MySubscriptionsResponse extends SubscriptionsByPlanType {
  /** Plan changes waiting for payment, per type. */
  pending: SubscriptionsByPlanType;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toSubscriptionResponse(s: UserSubscription): SubscriptionResponse {
  return {
    id: s.id,
    plan_id: s.plan_id,
    plan_type: s.plan_type,
    plan: s.plan ? toPlanResponse(s.plan) : null,
    status: s.status,
    start_date: iso(s.start_date),
    end_date: iso(s.end_date),
    trial_ends_at: iso(s.trial_ends_at),
    auto_renew: s.auto_renew,
    payment_method: s.payment_method,
    billing_cycle: s.billing_cycle,
    cancel_at_period_end: s.cancel_at_period_end,
    cancelled_at: iso(s.cancelled_at),
    ended_at: iso(s.ended_at),
    end_reason: s.end_reason,
    replaces_id: s.replaces_id,
    created_at: s.created_at.toISOString(),
    updated_at: s.updated_at.toISOString(),
  };
}
