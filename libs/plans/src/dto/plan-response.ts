import { toDecimalString } from '@torgovo/core';
import { SubscriptionPlan } from '../entities/subscription-plan.entity';
import { PlanType } from '../plan-types';

export interface PlanResponse {
  id: string;
  code: string;
  plan_type: PlanType;
  name: string;
  monthly_price: string;
  yearly_price: string;
  description: string;
  features: string[];
  max_bots: number | null;
  max_trading_pairs: number | null;
  live_trading: boolean;
  api_access: boolean;
  trial_days: number;
  guaranteed_monthly_return: string | null;
  profit_share_percentage: string | null;
  stripe_monthly_price_id: string | null;
  stripe_yearly_price_id: string | null;
  is_active: boolean;
}

const percent = (v: string | null): string | null => (v === null ? null : toDecimalString(v));

export function toPlanResponse(p: SubscriptionPlan): PlanResponse {
  return {
    id: p.id,
    code: p.code,
    plan_type: p.plan_type,
    name: p.name,
    // Prices keep their two decimals ("29.00"); percentages drop numeric(7,4)'s padding ("20").
    monthly_price: p.monthly_price,
    yearly_price: p.yearly_price,
    description: p.description,
    features: p.features,
    max_bots: p.max_bots,
    max_trading_pairs: p.max_trading_pairs,
    live_trading: p.live_trading,
    api_access: p.api_access,
    trial_days: p.trial_days,
    guaranteed_monthly_return: percent(p.guaranteed_monthly_return),
    profit_share_percentage: percent(p.profit_share_percentage),
    stripe_monthly_price_id: p.stripe_monthly_price_id,
    stripe_yearly_price_id: p.stripe_yearly_price_id,
    is_active: p.is_active,
  };
}
