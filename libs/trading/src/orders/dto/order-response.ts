import { PageResponse, toDecimalString } from '@torgovo/core';
import type { OrderMode, OrderRecord, OrderRowStatus, OrderSource } from '../entities/order.entity';

/** Where an order's time went (API.md "Orders"); null: not reached (yet). */
export class OrderTimelineResponse {
  /** The alert (or request) was accepted and the order written. */
  received_at: string;
  /** A worker last claimed it (each retry claims again). */
  claimed_at: string | null;
  /** First sent to the exchange (the placement was fenced). */
  sent_at: string | null;
  /** The exchange's answer to the placement was recorded. */
  acknowledged_at: string | null;
  /** Completely filled. */
  filled_at: string | null;
}

/** API.md "Orders": amounts are decimal strings without trailing zeros, times ISO 8601. */
export class OrderResponse {
  id: string;
  bot_id: string | null;
  managed_bot_id: string | null;
  source: OrderSource;
  mode: OrderMode;
  exchange: string;
  symbol: string;
  /** Null only for a target-position order not executed yet. */
  side: 'buy' | 'sell' | null;
  type: 'market' | 'limit';
  /** Base amount; null for an order sized in quote currency. */
  amount: string | null;
  /** Quote currency to spend; null for an order sized in base. */
  quote_amount: string | null;
  /** Percent of the free quote balance a live percent buy spends; quote_amount shows what it came to once placed. */
  quote_percent: string | null;
  /** Percent of the bot's own position a sell sells (close: 100), sized when executed; amount shows what it came to. */
  position_percent: string | null;
  /** The strategy's position a target alert asked the bot to trade to; amount and side show the difference traded. */
  target_position: string | null;
  price: string | null;
  status: OrderRowStatus;
  filled: string;
  average: string | null;
  cost: string | null;
  fee: string | null;
  fee_currency: string | null;
  client_order_id: string;
  exchange_order_id: string | null;
  reason: string | null;
  created_at: string;
  closed_at: string | null;
  /** When the user asked to cancel it (POST /orders/{id}/cancel); null: never. */
  cancel_requested_at: string | null;
  timeline: OrderTimelineResponse;
}

const dec = (v: string | null): string | null => (v === null ? null : toDecimalString(v));
const iso = (v: Date | null): string | null => (v ? v.toISOString() : null);

export function toOrderResponse(o: OrderRecord): OrderResponse {
  return {
    id: o.id,
    bot_id: o.bot_id,
    managed_bot_id: o.managed_bot_id,
    source: o.source,
    mode: o.mode,
    exchange: o.exchange,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    amount: dec(o.amount),
    quote_amount: dec(o.quote_amount),
    quote_percent: dec(o.quote_percent),
    position_percent: dec(o.position_percent),
    target_position: dec(o.target_position),
    price: dec(o.price),
    status: o.status,
    filled: toDecimalString(o.filled),
    average: dec(o.average),
    cost: dec(o.cost),
    fee: dec(o.fee),
    fee_currency: o.fee_currency,
    client_order_id: o.client_order_id,
    exchange_order_id: o.exchange_order_id,
    reason: o.reason,
    created_at: o.created_at.toISOString(),
    closed_at: iso(o.closed_at),
    cancel_requested_at: iso(o.cancel_requested_at),
    timeline: {
      received_at: o.created_at.toISOString(),
      claimed_at: iso(o.submitted_at),
      sent_at: iso(o.sent_at),
      acknowledged_at: iso(o.acknowledged_at),
      filled_at: o.status === 'filled' ? iso(o.closed_at) : null,
    },
  };
}

export class OrderPage extends PageResponse {
  items: OrderResponse[];
}
