import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A Stripe subscription and the subscription of ours it pays for, with the newest Stripe
 * state applied: state_at (the event's `created`) lets an older event be recognised and ignored.
 */
@Entity({ name: 'stripe_subscriptions' })
export class StripeSubscriptionLink {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  stripe_subscription_id: string;

  @Column({ type: 'uuid' })
  subscription_id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'varchar', length: 255 })
  stripe_customer_id: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  status: string | null;

  @Column({ type: 'boolean', default: false })
  cancel_at_period_end: boolean;

  @Column({ type: 'timestamptz', nullable: true })
  current_period_start: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  current_period_end: Date | null;

  @Column({ type: 'timestamptz' })
  state_at: Date;

  /**
   * Set when this Stripe subscription stopped paying for ours (its Checkout's bank debit failed; it is
   * cancelled at Stripe): its events are then those of a second billing (money refunded, state ignored).
   */
  @Column({ type: 'timestamptz', nullable: true })
  retired_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
