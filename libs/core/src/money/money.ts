import Decimal from 'decimal.js';

// Enough digits for any crypto amount (18 decimals) times any price.
Decimal.set({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 40 });

export { Decimal };

const DECIMAL_STRING = /^-?\d+(\.\d+)?$/;

export function isDecimalString(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL_STRING.test(value);
}

/** A decimal string without exponent or trailing zeros ("1.50000000" → "1.5"). */
export function toDecimalString(value: Decimal.Value): string {
  const d = new Decimal(value);
  return d.toFixed();
}

/** ccxt hands out JS numbers; convert at the boundary via their shortest round-trip string. */
export function fromExchangeNumber(value: number | string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return new Decimal(String(value)).toFixed();
}
