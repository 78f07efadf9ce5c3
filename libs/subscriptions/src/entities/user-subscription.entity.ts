import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { BillingCycle, PlanType, SubscriptionPlan } from '@torgovo/plans';
import { EndReason, PaymentMethod, SubscriptionStatus } from '../subscription-states';

@Entity({ name: 'user_subscriptions' })
export class UserSubscription {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'uuid' })
  plan_id: string;

  @ManyToOne(() => SubscriptionPlan, { eager: false })
  @JoinColumn({ name: 'plan_id' })
  plan?: SubscriptionPlan;

  /** Copied from the plan (a composite foreign key keeps it equal) so the one-current index can use it. */
  @Column({ type: 'varchar', length: 16 })
  plan_type: PlanType;

  @Column({ type: 'varchar', length: 20 })
  status: SubscriptionStatus;

  @Column({ type: 'varchar', length: 8 })
  billing_cycle: BillingCycle;

  @Column({ type: 'varchar', length: 8 })
  payment_method: PaymentMethod;

  @Column({ type: 'boolean', default: true })
  auto_renew: boolean;

  @Column({ type: 'boolean', default: false })
  cancel_at_period_end: boolean;

  /** null while pending_payment. */
  @Column({ type: 'timestamptz', nullable: true })
  start_date: Date | null;

  /** End of the paid period or trial; null = open-ended (free plans). */
  @Column({ type: 'timestamptz', nullable: true })
  end_date: Date | null;

  /** Start of the first paid period: later periods are counted from it (see billing-period.ts). */
  @Column({ type: 'timestamptz', nullable: true })
  period_anchor: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  trial_ends_at: Date | null;

  /** The end_date for which a renewal payment request was made (once per period). */
  @Column({ type: 'timestamptz', nullable: true })
  renewal_requested_for: Date | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  stripe_subscription_id: string | null;

  /** A payment for it is open or in flight at the provider until then: the sweeps do not expire it under that payment. */
  @Column({ type: 'timestamptz', nullable: true })
  payment_hold_until: Date | null;

  /** The current subscription this pending one replaces when it activates. */
  @Column({ type: 'uuid', nullable: true })
  replaces_id: string | null;

  @Column({ type: 'uuid', nullable: true })
  replaced_by_id: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  cancelled_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  ended_at: Date | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  end_reason: EndReason | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
