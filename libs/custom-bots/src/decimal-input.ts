import { Decimal } from '@torgovo/core';

/** Amounts are stored as numeric(36,18): at most 18 decimals and far below 10^18. */
export const MAX_DECIMALS = 18;
/** Beyond this an amount is a typo or an attack, never a real order size. */
export const MAX_AMOUNT = new Decimal('1e12');

const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/**
 * A strictly positive plain decimal string ("0.5", "12"), or the reason it is not one.
 * JSON numbers arrive as their shortest round-trip string, which is the literal for any
 * value with ≤ 17 significant digits.
 */
export function parsePositiveDecimal(raw: string, max: Decimal = MAX_AMOUNT): { value: Decimal } | { error: string } {
  const s = raw.trim();
  if (s.startsWith('-')) return { error: 'must be positive' };
  if (!PLAIN_DECIMAL.test(s)) return { error: 'must be a decimal number such as "0.01"' };
  const d = new Decimal(s);
  if (d.isZero()) return { error: 'must be greater than zero' };
  if (d.decimalPlaces() > MAX_DECIMALS) return { error: `must have at most ${MAX_DECIMALS} decimals` };
  if (d.gt(max)) return { error: `must be at most ${max.toFixed()}` };
  return { value: d };
}
