import { Decimal } from '@torgovo/core';

export interface CreditInput {
  /** The replaced subscription's paid period and the price paid for it. */
  oldPeriodStart: Date;
  oldPeriodEnd: Date;
  oldPriceUsd: string;
  /** The new subscription's first period and its price. */
  newPeriodStart: Date;
  newPeriodEnd: Date;
  newPriceUsd: string;
  now: Date;
}

/**
 * Paid time is credited, not thrown away: the unused share of the replaced period's price buys
 * time on the new plan at the new plan's rate. Returns the extra milliseconds for the new
 * period (0 when nothing paid is left or the new plan is free).
 */
export function creditedMs(c: CreditInput): number {
  const oldLen = c.oldPeriodEnd.getTime() - c.oldPeriodStart.getTime();
  const left = c.oldPeriodEnd.getTime() - Math.max(c.now.getTime(), c.oldPeriodStart.getTime());
  const newLen = c.newPeriodEnd.getTime() - c.newPeriodStart.getTime();
  const newPrice = new Decimal(c.newPriceUsd);
  if (oldLen <= 0 || left <= 0 || newLen <= 0 || newPrice.lte(0)) return 0;
  const unusedUsd = new Decimal(c.oldPriceUsd).times(left).div(oldLen);
  return unusedUsd.div(newPrice).times(newLen).floor().toNumber();
}
