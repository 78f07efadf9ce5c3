import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { BillingCycle } from '../plan-types';

/**
 * Every Stripe price a plan has ever sold, with its cycle: written when a plan gets a price id
 * (create, PATCH) and never deleted. A Stripe subscription keeps billing the price it was created
 * with after the plan's column moves on, so its renewals are recognised here, not by the column.
 */
@Entity({ name: 'plan_stripe_prices' })
export class PlanStripePrice {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  price_id: string;

  @Column({ type: 'uuid' })
  plan_id: string;

  @Column({ type: 'varchar', length: 8 })
  billing_cycle: BillingCycle;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
