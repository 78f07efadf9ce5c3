import { DomainError } from '@torgovo/core';

export const PlanErrors = {
  notFound: () => new DomainError('not_found', 404, 'Subscription plan not found'),
  codeTaken: (code: string) => new DomainError('plan_code_taken', 409, `A plan with code "${code}" already exists`),
  /** A Stripe price is one plan's and one cycle's forever: its subscribers' renewals are recognised by it. */
  stripePriceTaken: (field: string, price: string) =>
    new DomainError('stripe_price_taken', 409, `Stripe price "${price}" was already used by another plan or billing cycle`, [
      { field, message: 'a Stripe price id belongs to the plan and billing cycle that first used it' },
    ]),
  managedFieldsOnCustomPlan: () =>
    new DomainError('validation_failed', 400, 'Only managed_bot plans have a guaranteed return and a profit share', [
      { field: 'plan_type', message: 'guaranteed_monthly_return and profit_share_percentage need plan_type managed_bot' },
    ]),
  profitShareRequired: () =>
    new DomainError('validation_failed', 400, 'A managed_bot plan needs a profit_share_percentage', [
      { field: 'profit_share_percentage', message: 'profit_share_percentage is required for managed_bot plans' },
    ]),
} as const;
