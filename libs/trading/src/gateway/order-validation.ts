import { Decimal, isDecimalString } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import type { Market, OrderSide } from './exchange-gateway';

export interface ValidatedOrder {
  /** Rounded DOWN to the market's amount step: never more than asked for. */
  amount: string;
  /** Rounded to the tick, never to a worse price for `side` (see validatePrice); null when no price was given. */
  price: string | null;
  /** amount × price, or null without a price. */
  cost: string | null;
}

/**
 * Checks an order against the market's rules before it is sent, so the exchange never sees
 * an order it would reject for precision or size (shared by live and paper).
 * The minimum notional is checked only when a price is known (live market orders carry none).
 */
export function validateOrderAgainstMarket(market: Market, side: OrderSide, amount: string, price?: string | null): ValidatedOrder {
  requireActive(market);
  if (!isDecimalString(amount) || new Decimal(amount).lte(0)) {
    throw ExchangeError.permanent(C.invalidAmount, `amount must be a positive decimal, got "${amount}"`);
  }
  const step = new Decimal(market.amountPrecision);
  const rounded = new Decimal(amount).toNearest(step, Decimal.ROUND_DOWN);
  if (rounded.lte(0)) {
    throw ExchangeError.permanent(C.invalidAmount, `amount ${amount} is smaller than the amount step ${market.amountPrecision} of ${market.symbol}`);
  }
  if (market.minAmount !== null && rounded.lt(market.minAmount)) {
    throw ExchangeError.permanent(
      C.invalidAmount,
      `amount ${rounded.toFixed()} is below the minimum order size ${market.minAmount} of ${market.symbol}`,
    );
  }

  const roundedPrice = price !== undefined && price !== null ? new Decimal(validatePrice(market, side, price)) : null;
  const cost = roundedPrice ? rounded.mul(roundedPrice) : null;
  if (cost) requireMinCost(market, cost);
  return { amount: rounded.toFixed(), price: roundedPrice?.toFixed() ?? null, cost: cost?.toFixed() ?? null };
}

/**
 * A positive price rounded to the tick, never to a worse one for `side`: a buy DOWN, a sell UP.
 * A limit is never loosened past what the signal set, and a quote budget converted at this price
 * (paper fills at it; a buy fills at or below it) is never overspent.
 */
export function validatePrice(market: Market, side: OrderSide, price: string): string {
  if (!isDecimalString(price) || new Decimal(price).lte(0)) {
    throw ExchangeError.permanent(C.invalidOrder, `price must be a positive decimal, got "${price}"`);
  }
  const rounded = new Decimal(price).toNearest(market.pricePrecision, side === 'buy' ? Decimal.ROUND_DOWN : Decimal.ROUND_UP);
  if (rounded.lte(0)) {
    throw ExchangeError.permanent(C.invalidOrder, `price ${price} is smaller than the tick size ${market.pricePrecision} of ${market.symbol}`);
  }
  return rounded.toFixed();
}

/**
 * Checks a market buy sized by what it spends (quote units) and returns the cost to send: rounded
 * DOWN to the market's price step, the quote precision ccxt's costToPrecision truncates OKX's sz to,
 * so what is sent is exactly what was checked and never more than asked. The minimum size cannot be
 * checked without a price: the exchange refuses a fill below it itself.
 */
export function validateCostAgainstMarket(market: Market, cost: string): string {
  requireActive(market);
  if (!isDecimalString(cost) || new Decimal(cost).lte(0)) {
    throw ExchangeError.permanent(C.invalidAmount, `cost must be a positive decimal, got "${cost}"`);
  }
  const rounded = new Decimal(cost).toNearest(market.pricePrecision, Decimal.ROUND_DOWN);
  if (rounded.lte(0)) {
    throw ExchangeError.permanent(C.invalidAmount, `cost ${new Decimal(cost).toFixed()} ${market.quote} is smaller than the quote step ${market.pricePrecision} of ${market.symbol}`);
  }
  requireMinCost(market, rounded);
  return rounded.toFixed();
}

/** What a quote budget buys at `price`, in base units (18 decimals, rounded down: never more than the budget). */
export function quoteToBase(quote: string, price: string): string {
  return new Decimal(quote).div(price).toDecimalPlaces(18, Decimal.ROUND_DOWN).toFixed();
}

function requireActive(market: Market): void {
  if (!market.active) {
    throw ExchangeError.permanent(C.invalidOrder, `market ${market.symbol} is not open for trading`);
  }
}

function requireMinCost(market: Market, cost: Decimal): void {
  if (market.minCost !== null && cost.lt(market.minCost)) {
    throw ExchangeError.permanent(
      C.belowMinNotional,
      `order value ${cost.toFixed()} ${market.quote} is below the minimum ${market.minCost} ${market.quote} of ${market.symbol}`,
    );
  }
}
