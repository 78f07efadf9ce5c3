import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { BillingCycle } from '@torgovo/plans';

export const PAYMENT_KINDS = ['subscription', 'renewal', 'profit_share'] as const;
export type PaymentKind = (typeof PAYMENT_KINDS)[number];

export const PAYMENT_PROVIDERS = ['stripe', 'okx', 'coingate'] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];

export const PAYMENT_STATUSES = ['pending', 'completed', 'expired', 'failed', 'cancelled'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** Every payment of every provider and kind (DESIGN "Payments"). */
@Entity({ name: 'payments' })
export class Payment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'uuid', nullable: true })
  subscription_id: string | null;

  @Column({ type: 'uuid', nullable: true })
  plan_id: string | null;

  @Column({ type: 'varchar', length: 16 })
  kind: PaymentKind;

  /** null on a renewal request until the user picks how to pay it. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  provider: PaymentProvider | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: PaymentStatus;

  @Column({ type: 'numeric', precision: 18, scale: 2 })
  amount_usd: string;

  @Column({ type: 'varchar', length: 8, default: 'USD' })
  currency: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  crypto_currency: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  network: string | null;

  @Column({ type: 'numeric', precision: 38, scale: 18, nullable: true })
  crypto_amount: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  billing_cycle: BillingCycle | null;

  /** Stripe checkout session id, CoinGate order id or OKX deposit id (unique per provider). */
  @Column({ type: 'varchar', length: 255, nullable: true })
  provider_payment_id: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  stripe_invoice_id: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  stripe_subscription_id: string | null;

  /** Stripe Checkout URL, returned again while the session is open (a double click pays once). */
  @Column({ type: 'text', nullable: true })
  checkout_url: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  period_start: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  period_end: Date | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  tx_hash: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  failure_reason: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  confirmed_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  expires_at: Date | null;

  // Crypto (OKX deposits, CoinGate): where to send, what arrived, and CoinGate's callback token (hashed).
  @Column({ type: 'varchar', length: 255, nullable: true })
  deposit_address: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  deposit_tag: string | null;

  @Column({ type: 'numeric', precision: 38, scale: 18, nullable: true })
  received_amount: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true, select: false })
  callback_token_hash: string | null;

  /**
   * The first refund of this payment at the provider (Stripe refund id): ours (money that could not be
   * applied) or one made at Stripe (the dashboard). Written only by PaymentRefunds, as the three below.
   */
  @Column({ type: 'varchar', length: 255, nullable: true })
  refund_id: string | null;

  /** When money was first returned on it (a refund, or a chargeback lost). */
  @Column({ type: 'timestamptz', nullable: true })
  refunded_at: Date | null;

  /** The money returned so far (refunds and lost chargebacks together), ≤ amount_usd; equal to it = refunded in full. */
  @Column({ type: 'numeric', precision: 18, scale: 2, nullable: true })
  refunded_amount: string | null;

  /** The provider's dispute (chargeback or inquiry) of this payment, if any: its id, last reported status, and when it was opened. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  dispute_id: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  dispute_status: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  disputed_at: Date | null;

  /** A profit_share payment: the managed bot the share was charged for (libs/managed-bots settles it). */
  @Column({ type: 'uuid', nullable: true })
  managed_bot_id: string | null;
}
