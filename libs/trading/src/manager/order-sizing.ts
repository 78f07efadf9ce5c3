import { Decimal } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import type { Balances, Market, OrderSize, Ticker } from '../gateway/exchange-gateway';
import { quoteToBase, validateCostAgainstMarket, validateOrderAgainstMarket, validatePrice } from '../gateway/order-validation';
import type { OrderRecord } from '../orders/entities/order.entity';

export type SizedOrder = Pick<OrderRecord, 'mode' | 'type' | 'symbol' | 'amount' | 'quote_amount' | 'price'> & { side: 'buy' | 'sell' };

/**
 * What is sent: `amount` in base units, rounded down to the lot size, with `price` (the fill price
 * on paper, the limit price live; absent for live market orders) — or, for a live market buy sized
 * in quote, the `cost` it spends, which the exchange turns into base at the fill.
 */
export type Placement = OrderSize & { price?: string };

/** A live market buy with a quote amount is sent as what it spends: no conversion at a price we read earlier. */
export function sendsCost(order: SizedOrder): boolean {
  return order.mode === 'live' && order.type === 'market' && order.side === 'buy' && order.amount === null && order.quote_amount !== null;
}

/**
 * Whether placing needs a price we do not have yet: paper fills at a price, a quote-sized order
 * converts at one (unless sent as a cost), and a minimum notional can only be checked with one.
 * The signal price wins.
 */
export function needsTicker(order: SizedOrder, market: Market): boolean {
  if (order.price !== null || sendsCost(order)) return false;
  if (order.mode === 'paper') return true;
  if (order.type === 'limit') return false; // rejected in planPlacement: a limit order carries its price
  return order.amount === null || market.minCost !== null;
}

/** The side of the book a market order meets: the ask for a buy, the bid for a sell. */
export function tickerPrice(ticker: Ticker, side: 'buy' | 'sell'): string | null {
  return (side === 'buy' ? ticker.ask : ticker.bid) ?? ticker.last;
}

/**
 * Turns an order row into what is sent: a live quote-sized market buy becomes its cost (checked
 * against the quote step and minimum notional); any other quote-sized order becomes quote / price
 * in base units; then precision, minimum size and minimum notional are checked (ExchangeError
 * 'permanent' if not met).
 */
export function planPlacement(order: SizedOrder, market: Market, referencePrice: string | null): Placement {
  if (sendsCost(order)) return { cost: validateCostAgainstMarket(market, order.quote_amount!) };
  if (order.type === 'limit' && order.price === null) {
    throw ExchangeError.permanent(C.invalidOrder, 'a limit order needs a price');
  }
  const given = order.price ?? referencePrice;
  if (order.mode === 'paper' && given === null) {
    throw ExchangeError.permanent(C.noPrice, `no price to fill this paper order on ${order.symbol}`);
  }
  // On the tick first (a buy down, a sell up), so a quote amount is converted at the very price it
  // is sent and filled at: amount × price never exceeds the budget.
  const price = given === null ? null : validatePrice(market, order.side, given);
  let amount = order.amount;
  if (amount === null) {
    if (order.quote_amount === null) throw ExchangeError.permanent(C.invalidAmount, 'the order has neither amount nor quote_amount');
    if (price === null) throw ExchangeError.permanent(C.noPrice, `no price to convert ${order.quote_amount} ${market.quote} into ${market.base}`);
    // Rounded down to the lot size by the validation below: never more than the quote budget.
    amount = quoteToBase(order.quote_amount, price);
  }
  const v = validateOrderAgainstMarket(market, order.side, amount, price);
  const sendPrice = order.mode === 'paper' || order.type === 'limit' ? (v.price ?? undefined) : undefined;
  return sendPrice === undefined ? { amount: v.amount } : { amount: v.amount, price: sendPrice };
}

/**
 * What a quote_percent buy spends: that percent of the free quote balance, rounded down (never more
 * than the share asked for). Nothing free is the exchange's own permanent refusal, said up front.
 */
export function percentBudget(balances: Balances, market: Market, percent: string): string {
  const free = new Decimal(balances[market.quote]?.free ?? '0');
  const budget = Decimal.max(free, 0).mul(percent).div(100).toDecimalPlaces(18, Decimal.ROUND_DOWN);
  if (budget.lte(0)) {
    throw ExchangeError.permanent(C.insufficientFunds, `Insufficient ${market.quote} balance: ${free.toFixed()} free, nothing to spend ${new Decimal(percent).toFixed()}% of`);
  }
  return budget.toFixed();
}
