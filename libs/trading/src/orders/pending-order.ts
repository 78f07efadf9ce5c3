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
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  /** Exactly one of amount (base), quote_amount and quote_percent (of the free quote balance, buys only) is set. */
  amount?: string | null;
  quote_amount?: string | null;
  quote_percent?: string | null;
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
    input.price ?? null,
    clientOrderIdFor(input.source, input.source_ref),
  ];
}

/** `$first, $first+1, …` for the values above, for embedding in a larger statement. */
export function pendingOrderPlaceholders(first: number): string {
  return PENDING_ORDER_COLUMNS.map((_, i) => `$${first + i}`).join(', ');
}
