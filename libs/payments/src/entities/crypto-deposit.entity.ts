import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const DEPOSIT_MATCH_STATUSES = ['new', 'matched', 'unmatched', 'assigned'] as const;
export type DepositMatchStatus = (typeof DEPOSIT_MATCH_STATUSES)[number];

/**
 * Every deposit the PaymentChecker saw on the platform's OKX account, as OKX last reported it.
 * `new` = not yet matched (not credited yet, or waiting for its turn); `unmatched` = credited and
 * no open payment fits it (kept for an admin); `matched`/`assigned` = it settled `payment_id`.
 */
@Entity({ name: 'crypto_deposits' })
export class CryptoDeposit {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 16 })
  provider: string;

  @Column({ type: 'varchar', length: 64 })
  dep_id: string;

  @Column({ type: 'varchar', length: 255 })
  tx_id: string;

  @Column({ type: 'varchar', length: 16 })
  ccy: string;

  @Column({ type: 'varchar', length: 64 })
  chain: string;

  @Column({ type: 'numeric', precision: 38, scale: 18 })
  amount: string;

  @Column({ type: 'varchar', length: 255 })
  to_address: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  tag: string | null;

  /** OKX deposit state: 0 waiting, 1 credited, 2 successful, 8 suspended, others blocked. */
  @Column({ type: 'varchar', length: 8 })
  state: string;

  @Column({ type: 'timestamptz' })
  deposited_at: Date;

  @Column({ type: 'varchar', length: 16 })
  match_status: DepositMatchStatus;

  @Column({ type: 'uuid', nullable: true })
  payment_id: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  matched_at: Date | null;

  @Column({ type: 'uuid', nullable: true })
  assigned_by: string | null;

  @Column({ type: 'timestamptz' })
  first_seen_at: Date;

  @Column({ type: 'timestamptz' })
  updated_at: Date;
}
