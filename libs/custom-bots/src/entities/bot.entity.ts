import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const BOT_MODES = ['paper', 'live'] as const;
export type BotMode = (typeof BOT_MODES)[number];
export const BOT_ORDER_TYPES = ['market', 'limit'] as const;
export type BotOrderType = (typeof BOT_ORDER_TYPES)[number];
export const SIZING_TYPES = ['quote', 'base', 'percent_balance'] as const;
export type SizingType = (typeof SIZING_TYPES)[number];
export type BotStatus = 'running' | 'stopped';

/** A custom bot: one symbol on one exchange, driven by TradingView alerts. */
@Entity({ name: 'bots' })
export class Bot {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** Unified symbol, e.g. 'BTC/USDT'. */
  @Column({ type: 'varchar', length: 32 })
  symbol: string;

  @Column({ type: 'varchar', length: 8 })
  mode: BotMode;

  /** 'paper' or the ccxt id of the user's connected exchange. */
  @Column({ type: 'varchar', length: 32 })
  exchange: string;

  @Column({ type: 'varchar', length: 8 })
  order_type: BotOrderType;

  @Column({ type: 'varchar', length: 16 })
  sizing_type: SizingType;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  sizing_value: string;

  /** false (default): a fixed-size sell sells at most what this bot bought and still holds. */
  @Column({ type: 'boolean', default: false })
  allow_selling_beyond_position: boolean;

  @Column({ type: 'varchar', length: 8, default: 'running' })
  status: BotStatus;

  /** Why it stopped: 'user', 'subscription_expired', ... */
  @Column({ type: 'varchar', length: 64, nullable: true })
  stop_reason: string | null;

  /** When it was last started again after a stop (null: running since created): orders accepted before it are not traded. */
  @Column({ type: 'timestamptz', nullable: true })
  started_at: Date | null;

  /** Deleted bots are kept (their orders point here) but hidden everywhere. */
  @Column({ type: 'timestamptz', nullable: true })
  deleted_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
