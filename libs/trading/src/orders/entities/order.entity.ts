import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type OrderSource = 'webhook' | 'managed' | 'manual';
export type OrderMode = 'paper' | 'live';
export type OrderRowStatus = 'pending' | 'submitting' | 'open' | 'filled' | 'canceled' | 'rejected' | 'failed';

/** Statuses after which the TradingManager never touches the row again. */
export const FINAL_ORDER_STATUSES: readonly OrderRowStatus[] = ['filled', 'canceled', 'rejected', 'failed'];

/**
 * The unit of work: written (status `pending`) in the transaction that accepts a signal,
 * then claimed and placed by the TradingManager with `client_order_id`.
 */
@Entity({ name: 'orders' })
@Index(['user_id', 'created_at'])
export class OrderRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'uuid', nullable: true })
  bot_id: string | null;

  @Column({ type: 'uuid', nullable: true })
  managed_bot_id: string | null;

  @Column({ type: 'varchar', length: 16 })
  source: OrderSource;

  /** What produced it (webhook event id, managed signal id): with source, unique, so a signal makes one order. */
  @Column({ type: 'varchar', length: 128 })
  source_ref: string;

  @Column({ type: 'varchar', length: 8 })
  mode: OrderMode;

  /** 'paper' or the ccxt exchange id. */
  @Column({ type: 'varchar', length: 32 })
  exchange: string;

  @Column({ type: 'varchar', length: 32 })
  symbol: string;

  /** Null only for a target-position order until it is executed (the difference decides the side). */
  @Column({ type: 'varchar', length: 4, nullable: true })
  side: 'buy' | 'sell' | null;

  @Column({ type: 'varchar', length: 8 })
  type: 'market' | 'limit';

  /**
   * Base amount as requested (before rounding to the market step). Null for an order sized in quote,
   * before and after it fills: what it bought is `filled`, what that cost is `cost`.
   */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  amount: string | null;

  /**
   * Quote amount to spend, for quote-sized orders (a live market buy sends it as is, cut to the
   * quote step); for a quote_percent order, what the percent resolved to when it was placed
   * (null until then).
   */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  quote_amount: string | null;

  /** Percent (0, 100] of the free quote balance a live buy spends, read from the exchange when it is placed. */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  quote_percent: string | null;

  /**
   * Percent (0, 100] of the bot's own position a sell sells (close = 100), sized when it is executed;
   * `amount` shows what that came to once sent.
   */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  position_percent: string | null;

  /**
   * The strategy's signed position the bot trades to (spot: ≤ 0 is flat). The difference from the
   * bot's own position at execution becomes `side` and `amount`.
   */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  target_position: string | null;

  /** The alert's own time (its timestamp, else when it was received): an older target alert changes nothing. */
  @Column({ type: 'timestamptz', nullable: true })
  signal_at: Date | null;

  /** Set (once) by the statement that fences the first send: from then on the order may be on the exchange. */
  @Column({ type: 'timestamptz', nullable: true })
  sent_at: Date | null;

  /**
   * Until when a live send decided for this order may still reach the exchange (its latest decision
   * + SEND_SETTLE_MAX_MS, enforced by OKX's expTime). Kept after a send whose outcome is unknown (a
   * timeout, a lost answer); cleared when the exchange definitely refused it. Before it, a look-up
   * that finds nothing proves nothing.
   */
  @Column({ type: 'timestamptz', nullable: true })
  send_settles_at: Date | null;

  /** The exchange credential a live order was first sent with; it is never sent with other keys. */
  @Column({ type: 'uuid', nullable: true })
  credential_id: string | null;

  /** Signal price: the fill price on paper, the limit price for limit orders. */
  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  price: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: OrderRowStatus;

  @Column({ type: 'numeric', precision: 36, scale: 18, default: '0' })
  filled: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  average: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  cost: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  fee: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  fee_currency: string | null;

  /** ≤ 32 alphanumerics, derived from source + source_ref: the same signal always maps to the same id. */
  @Column({ type: 'varchar', length: 32 })
  client_order_id: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  exchange_order_id: string | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  next_attempt_at: Date;

  /** When a worker last claimed it (each claim sets it; `attempts` counts them). */
  @Column({ type: 'timestamptz', nullable: true })
  submitted_at: Date | null;

  /** The exchange's first answer to the placement (or the lookup that found it) was recorded. */
  @Column({ type: 'timestamptz', nullable: true })
  acknowledged_at: Date | null;

  /**
   * The user asked to cancel (POST /orders/{id}/cancel). A pending order never sent is canceled at
   * once; one that may be on the exchange is canceled there and ends as the exchange says.
   */
  @Column({ type: 'timestamptz', nullable: true })
  cancel_requested_at: Date | null;

  /** The cancel job tries again after an attempt that did not settle the order (null: not tried yet). */
  @Column({ type: 'timestamptz', nullable: true, select: false })
  cancel_retry_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  closed_at: Date | null;
}
