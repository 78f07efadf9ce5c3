import { Decimal } from '@torgovo/core';
import type { Market, OrderSide } from '../exchange-gateway';

/** Taker fee of the paper exchange, charged in the currency received (as OKX does on spot). */
export const PAPER_TAKER_FEE_RATE = '0.001';

// Balances are numeric(36,18): every figure is cut to 18 decimals, always in the exchange's favour
// (what the user pays rounds up, what they receive rounds down), so rounding never creates money.
const SCALE = 18;
const up = (d: Decimal) => d.toDecimalPlaces(SCALE, Decimal.ROUND_UP);
const down = (d: Decimal) => d.toDecimalPlaces(SCALE, Decimal.ROUND_DOWN);

export interface BalanceMove {
  currency: string;
  amount: string;
}

export interface MarketFill {
  filled: string;
  average: string;
  /** Order value in quote currency. */
  cost: string;
  fee: string;
  feeCurrency: string;
  /** Taken from `free`. */
  debit: BalanceMove;
  /** Added to `free`, fee already deducted. */
  credit: BalanceMove;
}

export function computeMarketFill(
  market: Pick<Market, 'base' | 'quote'>,
  side: OrderSide,
  amount: string,
  price: string,
  feeRate: string = PAPER_TAKER_FEE_RATE,
): MarketFill {
  const qty = new Decimal(amount);
  const px = new Decimal(price);
  if (side === 'buy') {
    const cost = up(qty.mul(px));
    const fee = up(qty.mul(feeRate));
    return {
      filled: qty.toFixed(),
      average: px.toFixed(),
      cost: cost.toFixed(),
      fee: fee.toFixed(),
      feeCurrency: market.base,
      debit: { currency: market.quote, amount: cost.toFixed() },
      credit: { currency: market.base, amount: qty.minus(fee).toFixed() },
    };
  }
  const proceeds = down(qty.mul(px));
  const fee = up(proceeds.mul(feeRate));
  return {
    filled: qty.toFixed(),
    average: px.toFixed(),
    cost: proceeds.toFixed(),
    fee: fee.toFixed(),
    feeCurrency: market.quote,
    debit: { currency: market.base, amount: qty.toFixed() },
    credit: { currency: market.quote, amount: proceeds.minus(fee).toFixed() },
  };
}

/** What an open limit order holds back in `used` until it is cancelled. */
export function computeReservation(
  market: Pick<Market, 'base' | 'quote'>,
  side: OrderSide,
  amount: string,
  price: string,
): BalanceMove {
  if (side === 'buy') {
    return { currency: market.quote, amount: up(new Decimal(amount).mul(price)).toFixed() };
  }
  return { currency: market.base, amount: new Decimal(amount).toFixed() };
}
