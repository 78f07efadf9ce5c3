import { Decimal } from '@torgovo/core';

/**
 * The high-water-mark arithmetic, in one place (the settlement statement is the same rule in SQL:
 * profit-share-settlement.service.ts). The mark is an equity level: it starts at the investment,
 * `owed = rate × max(0, equity − mark)` with equity = investment + cumulative net PnL, i.e.
 * rate × max(0, cumulative_net_pnl − (mark − investment)): losses carry forward, a gain is charged once.
 */
export function owedAt(equity: Decimal.Value, mark: Decimal.Value, ratePct: Decimal.Value): Decimal {
  const gain = Decimal.max(new Decimal(equity).minus(mark), 0);
  return gain.mul(ratePct).div(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** After a settlement: the mark rises to the equity it charged up to (never falls). */
export function markAfterSettlement(equity: Decimal.Value, mark: Decimal.Value): Decimal {
  return Decimal.max(new Decimal(equity), new Decimal(mark));
}

/**
 * A top-up raises the mark by its amount (no share on one's own money); a withdrawal of `amount`
 * out of `equity` lowers it pro rata (what stays below the mark still has to be recovered).
 */
export function markAfterInvestmentChange(mark: Decimal.Value, equity: Decimal.Value, amount: Decimal.Value): Decimal {
  const a = new Decimal(amount);
  if (a.gte(0)) return new Decimal(mark).plus(a);
  const e = new Decimal(equity);
  if (e.lte(0)) return new Decimal(mark);
  return new Decimal(mark).mul(e.plus(a)).div(e).toDecimalPlaces(18, Decimal.ROUND_HALF_UP);
}
