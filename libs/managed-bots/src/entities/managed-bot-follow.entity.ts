import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type FollowStatus = 'active' | 'ended';
export type FollowMode = 'paper' | 'live';

/**
 * One follow of a managed bot by a user (a re-follow is a new row). `investment` is the net of what
 * the follower put in (initial + top-ups − withdrawals); `high_water_mark` is an equity level:
 * owed = rate × max(0, equity − high_water_mark), equity = investment + net_pnl — the same as
 * rate × max(0, cumulative_net_pnl − (high_water_mark − investment)).
 */
@Entity({ name: 'managed_bot_follows' })
export class ManagedBotFollow {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'uuid' })
  managed_bot_id: string;

  @Column({ type: 'varchar', length: 8 })
  mode: FollowMode;

  /** 'paper' or the ccxt exchange id the follower's orders go to. */
  @Column({ type: 'varchar', length: 32 })
  exchange: string;

  @Column({ type: 'varchar', length: 8, default: 'active' })
  status: FollowStatus;

  /** user (unsubscribe) | stop_loss | user_deactivated | user_erased (FollowUserListener) */
  @Column({ type: 'varchar', length: 32, nullable: true })
  end_reason: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  initial_investment: string;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  investment: string;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  high_water_mark: string;

  @Column({ type: 'numeric', precision: 6, scale: 3, default: '1' })
  max_slippage_pct: string;

  @Column({ type: 'numeric', precision: 6, scale: 3, nullable: true })
  stop_loss_pct: string | null;

  /** The managed plan's profit share (percent) when the user followed: the terms settlements charge. */
  @Column({ type: 'numeric', precision: 7, scale: 4 })
  profit_share_pct: string;

  /** The plan's guaranteed monthly return (percent) when the user followed; null: none. */
  @Column({ type: 'numeric', precision: 7, scale: 4, nullable: true })
  guaranteed_monthly_return: string | null;

  /** Performance snapshot, written by the set-based recomputation (null: never computed). */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  current_balance: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  total_profit: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  total_loss: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  net_pnl: string;

  /** The book's net PnL, gross profit and gross loss when this follow started (a re-follow starts from there). */
  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  pnl_base: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  profit_base: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  loss_base: string;

  /** Closing trades and winning ones of the book (FIFO), and the largest fall of its realised PnL. */
  @Column({ type: 'int', default: 0 })
  trades: number;

  @Column({ type: 'int', default: 0 })
  wins: number;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  max_drawdown: string | null;

  /** Realised PnL of the last 30 days (the managed bot's 30-day return sums it). */
  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  realised_30d: string;

  @Column({ type: 'timestamptz', nullable: true })
  last_calculated: Date | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  started_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  ended_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
