import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { BillingCycle, PlanType } from '../plan-types';

@Entity({ name: 'subscription_plans' })
export class SubscriptionPlan {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Stable machine name ('free', 'pro', …): seeds, Stripe metadata and tests refer to it. */
  @Column({ type: 'varchar', length: 64 })
  code: string;

  @Column({ type: 'varchar', length: 16 })
  plan_type: PlanType;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'text', default: '' })
  description: string;

  /** USD, numeric(12,2): the pg driver returns a decimal string. */
  @Column({ type: 'numeric', precision: 12, scale: 2 })
  monthly_price: string;

  @Column({ type: 'numeric', precision: 12, scale: 2 })
  yearly_price: string;

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  features: string[];

  /** null = unlimited. */
  @Column({ type: 'integer', nullable: true })
  max_bots: number | null;

  /** null = unlimited. */
  @Column({ type: 'integer', nullable: true })
  max_trading_pairs: number | null;

  @Column({ type: 'boolean', default: false })
  live_trading: boolean;

  /** The REST API with personal access tokens is included. */
  @Column({ type: 'boolean', default: false })
  api_access: boolean;

  /** Notifications may also go to a linked Telegram chat (Pro and Enterprise at seed). */
  @Column({ type: 'boolean', default: false })
  telegram_notifications: boolean;

  @Column({ type: 'integer', default: 0 })
  trial_days: number;

  /** Managed plans only: target monthly return, percent. */
  @Column({ type: 'numeric', precision: 7, scale: 4, nullable: true })
  guaranteed_monthly_return: string | null;

  /** Managed plans only: share of profit above the high-water mark, percent. */
  @Column({ type: 'numeric', precision: 7, scale: 4, nullable: true })
  profit_share_percentage: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  stripe_monthly_price_id: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  stripe_yearly_price_id: string | null;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;

  @Column({ type: 'integer', default: 0 })
  sort_order: number;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}

/** The price of one period of `cycle`, a decimal string. */
export function planPrice(plan: Pick<SubscriptionPlan, 'monthly_price' | 'yearly_price'>, cycle: BillingCycle): string {
  return cycle === 'yearly' ? plan.yearly_price : plan.monthly_price;
}
