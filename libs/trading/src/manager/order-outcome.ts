import type { Order } from '../gateway/exchange-gateway';
import type { OrderRowStatus } from '../orders/entities/order.entity';

export interface OrderOutcome {
  status: Extract<OrderRowStatus, 'open' | 'filled' | 'canceled' | 'rejected'>;
  filled: string;
  average: string | null;
  cost: string | null;
  fee: string | null;
  fee_currency: string | null;
  exchange_order_id: string | null;
  /** No further change is expected from the exchange: closed_at is set. */
  final: boolean;
  /** Set for `rejected` only: the exchange's reason, which the row keeps for the user. */
  reason: string | null;
}

const STATUS: Record<Order['status'], OrderOutcome['status']> = { open: 'open', closed: 'filled', canceled: 'canceled', rejected: 'rejected' };

/** The row's view of an exchange order (a partially filled then cancelled order stays `canceled` with its fill). */
export function outcomeOf(order: Order): OrderOutcome {
  const status = STATUS[order.status];
  return {
    status,
    filled: order.filled,
    average: order.average,
    cost: order.cost,
    fee: order.fee,
    fee_currency: order.feeCurrency,
    exchange_order_id: order.exchangeOrderId || null,
    final: status !== 'open',
    reason: status === 'rejected' ? `rejected_by_exchange: ${order.rejectReason ?? 'no reason given'}` : null,
  };
}
