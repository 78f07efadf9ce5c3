export const PLAN_TYPES = ['custom_bot', 'managed_bot'] as const;
export type PlanType = (typeof PLAN_TYPES)[number];

export const BILLING_CYCLES = ['monthly', 'yearly'] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];
