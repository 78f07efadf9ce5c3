import { clientOrderIdFor } from './client-order-id';
import type { OrderMode, OrderSource } from './entities/order.entity';

export interface NewOrder {
  user_id: string;
  bot_id?: string | null;
  managed_bot_id?: string | null;
  source: OrderSource;
  source_ref: string;
  mode: OrderMode;
  exchange: string;
  symbol: string;
  /** Null only with target_position: the difference decides the side when it is executed. */
  side: 'buy' | 'sell' | null;
  type: 'market' | 'limit';
  /**
   * Exactly one sizing: amount (base), quote_amount, quote_percent (of the free quote balance, buys
   * only), position_percent (of the bot's own position, sells only) or target_position. The last
   * three are sized by the executor right before it sends (placement-rule.ts).
   */
  amount?: string | null;
  quote_amount?: string | null;
  quote_percent?: string | null;
  position_percent?: string | null;
  target_position?: string | null;
  /** The alert's own time; orders a target alert by it. */
  signal_at?: Date | null;
  price?: string | null;
}

/** The columns a new pending order is written with; everything else takes its default. */
export const PENDING_ORDER_COLUMNS = [
  'user_id',
  'bot_id',
  'managed_bot_id',
  'source',
  'source_ref',
  'mode',
  'exchange',
  'symbol',
  'side',
  'type',
  'amount',
  'quote_amount',
  'quote_percent',
  'position_percent',
  'target_position',
  'signal_at',
  'price',
  'client_order_id',
] as const;

/**
 * The values for PENDING_ORDER_COLUMNS, in order. Exposed (with the columns) so a caller that
 * must write the order in the same statement as its own rows — the webhook hot path does its
 * dedupe claim, order and event log in one round trip — still gets the client order id and the
 * row shape from this lib.
 */
export function pendingOrderValues(input: NewOrder): unknown[] {
  return [
    input.user_id,
    input.bot_id ?? null,
    input.managed_bot_id ?? null,
    input.source,
    input.source_ref,
    input.mode,
    input.exchange,
    input.symbol,
    input.side,
    input.type,
    input.amount ?? null,
    input.quote_amount ?? null,
    input.quote_percent ?? null,
    input.position_percent ?? null,
    input.target_position ?? null,
    input.signal_at ?? null,
    input.price ?? null,
    clientOrderIdFor(input.source, input.source_ref),
  ];
}

/** `$first, $first+1, …` for the values above, for embedding in a larger statement. */
export function pendingOrderPlaceholders(first: number): string {
  return PENDING_ORDER_COLUMNS.map((_, i) => `$${first + i}`).join(', ');
}

/** The SQL type of each of PENDING_ORDER_COLUMNS, for a set-based insert from arrays (`unnest($n::type[], …)`). */
export const PENDING_ORDER_SQL_TYPES: Record<(typeof PENDING_ORDER_COLUMNS)[number], string> = {
  user_id: 'uuid',
  bot_id: 'uuid',
  managed_bot_id: 'uuid',
  source: 'varchar',
  source_ref: 'varchar',
  mode: 'varchar',
  exchange: 'varchar',
  symbol: 'varchar',
  side: 'varchar',
  type: 'varchar',
  amount: 'numeric',
  quote_amount: 'numeric',
  quote_percent: 'numeric',
  position_percent: 'numeric',
  target_position: 'numeric',
  signal_at: 'timestamptz',
  price: 'numeric',
  client_order_id: 'varchar',
};

/** Many new orders as one array per column of PENDING_ORDER_COLUMNS (in that order), for `unnest`. */
export function pendingOrderColumnArrays(orders: readonly NewOrder[]): unknown[][] {
  const rows = orders.map(pendingOrderValues);
  return PENDING_ORDER_COLUMNS.map((_, i) => rows.map((r) => r[i]));
}
