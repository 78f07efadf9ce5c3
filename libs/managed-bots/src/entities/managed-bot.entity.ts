import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const MANAGED_BOT_STATUSES = ['active', 'paused'] as const;
export type ManagedBotStatus = (typeof MANAGED_BOT_STATUSES)[number];

/** A bot the platform runs; its signals fan out to every active follower. */
@Entity({ name: 'managed_bots' })
export class ManagedBot {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'text', default: '' })
  description: string;

  /** The exchange live followers trade on ('okx'); paper followers trade on the paper exchange. */
  @Column({ type: 'varchar', length: 32, default: 'okx' })
  exchange: string;

  /** Normalized symbols ('BTC/USDT') its signals may trade. */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  symbols: string[];

  @Column({ type: 'varchar', length: 64, default: '' })
  strategy: string;

  @Column({ type: 'varchar', length: 8, default: 'active' })
  status: ManagedBotStatus;

  /** When it was last made active again after a pause (null: never paused and resumed): follower orders fanned out before it are not traded. */
  @Column({ type: 'timestamptz', nullable: true })
  resumed_at: Date | null;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '10' })
  min_investment: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  max_investment: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true, select: false })
  webhook_secret_hash: string | null;

  /** The admin who issued the current webhook secret: it trades only while they are still an active admin (null: none known, refused). */
  @Column({ type: 'uuid', nullable: true })
  webhook_issued_by: string | null;

  @Column({ type: 'uuid', nullable: true })
  created_by: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
