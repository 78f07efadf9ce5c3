import { Decimal, isDecimalString } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import type { Market } from './exchange-gateway';

export interface ValidatedOrder {
  /** Rounded DOWN to the market's amount step: never more than asked for. */
  amount: string;
  /** Rounded to the nearest tick; null when no price was given. */
  price: string | null;
  /** amount × price, or null without a price. */
  cost: string | null;
}

/**
 * Checks an order against the market's rules before it is sent, so the exchange never sees
 * an order it would reject for precision or size (shared by live and paper).
 * The minimum notional is checked only when a price is known (live market orders carry none).
 */
export function validateOrderAgainstMarket(market: Market, amount: string, price?: string | null): ValidatedOrder {
  if (!market.active) {
    throw ExchangeError.permanent(C.invalidOrder, `market ${market.symbol} is not open for trading`);
  }
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

  let roundedPrice: Decimal | null = null;
  if (price !== undefined && price !== null) {
    if (!isDecimalString(price) || new Decimal(price).lte(0)) {
      throw ExchangeError.permanent(C.invalidOrder, `price must be a positive decimal, got "${price}"`);
    }
    roundedPrice = new Decimal(price).toNearest(market.pricePrecision, Decimal.ROUND_HALF_UP);
    if (roundedPrice.lte(0)) {
      throw ExchangeError.permanent(C.invalidOrder, `price ${price} is smaller than the tick size ${market.pricePrecision} of ${market.symbol}`);
    }
  }

  const cost = roundedPrice ? rounded.mul(roundedPrice) : null;
  if (cost && market.minCost !== null && cost.lt(market.minCost)) {
    throw ExchangeError.permanent(
      C.belowMinNotional,
      `order value ${cost.toFixed()} ${market.quote} is below the minimum ${market.minCost} ${market.quote} of ${market.symbol}`,
    );
  }
  return { amount: rounded.toFixed(), price: roundedPrice?.toFixed() ?? null, cost: cost?.toFixed() ?? null };
}
