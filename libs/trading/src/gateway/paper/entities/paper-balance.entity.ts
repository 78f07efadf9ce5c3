import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** numeric columns come back as decimal strings. */
@Entity({ name: 'paper_balances' })
export class PaperBalance {
  @PrimaryColumn({ type: 'uuid' })
  user_id: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  currency: string;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  free: string;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  used: string;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
