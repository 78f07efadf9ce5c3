import { Decimal } from '@torgovo/core';

export interface CreditInput {
  /**
   * The replaced subscription's paid periods that end after `now` (the current one and any paid
   * ahead: a renewal paid before its period began), each bought at `oldPriceUsd`.
   */
  oldPeriods: ReadonlyArray<{ start: Date; end: Date }>;
  oldPriceUsd: string;
  /** The new subscription's first period and its price. */
  newPeriodStart: Date;
  newPeriodEnd: Date;
  newPriceUsd: string;
  now: Date;
}

/**
 * Paid time is credited, not thrown away: the unused share of every paid period left (the one
 * under way and any renewal paid ahead of it) buys time on the new plan at the new plan's rate.
 * Counting only the latest period lost the rest of the current one when a renewal had been paid
 * early (renewals are requested days ahead). Returns the extra milliseconds for the new period (0
 * when nothing paid is left or the new plan is free).
 */
export function creditedMs(c: CreditInput): number {
  const newLen = c.newPeriodEnd.getTime() - c.newPeriodStart.getTime();
  const newPrice = new Decimal(c.newPriceUsd);
  if (newLen <= 0 || newPrice.lte(0)) return 0;
  let unusedUsd = new Decimal(0);
  for (const p of c.oldPeriods) {
    const len = p.end.getTime() - p.start.getTime();
    const left = p.end.getTime() - Math.max(c.now.getTime(), p.start.getTime());
    if (len <= 0 || left <= 0) continue;
    unusedUsd = unusedUsd.plus(new Decimal(c.oldPriceUsd).times(left).div(len));
  }
  if (unusedUsd.lte(0)) return 0;
  return unusedUsd.div(newPrice).times(newLen).floor().toNumber();
}
