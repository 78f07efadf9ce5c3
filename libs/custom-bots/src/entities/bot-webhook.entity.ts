import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A TradingView webhook of one bot. The secret itself is never stored, only its SHA-256. */
@Entity({ name: 'bot_webhooks' })
export class BotWebhook {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'uuid' })
  bot_id: string;

  @Column({ type: 'char', length: 64, select: false })
  secret_hash: string;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;

  @Column({ type: 'int', default: 300 })
  max_lag_seconds: number;

  @Column({ type: 'int', default: 60 })
  rate_limit_per_minute: number;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  rotated_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  deactivated_at: Date | null;
}
