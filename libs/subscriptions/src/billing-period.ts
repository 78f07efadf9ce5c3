import { DateTime } from 'luxon';
import type { BillingCycle } from '@torgovo/plans';

/**
 * Billing periods are calendar months/years in APP_TIMEZONE, counted from an anchor
 * (the start of the first paid period) rather than chained: Jan 31 → Feb 28 → Mar 31,
 * never drifting to the 28th. Luxon clamps a missing day to the month's last day.
 */
export function addBillingPeriods(anchor: Date, count: number, cycle: BillingCycle, timeZone: string): Date {
  const local = DateTime.fromJSDate(anchor, { zone: timeZone });
  if (!local.isValid) throw new Error(`Invalid time zone or date: ${timeZone}`);
  const end = cycle === 'yearly' ? local.plus({ years: count }) : local.plus({ months: count });
  return end.toJSDate();
}

/** The end of the period that follows `currentEnd`, on the anchor's calendar grid. */
export function nextPeriodEnd(anchor: Date, currentEnd: Date, cycle: BillingCycle, timeZone: string): Date {
  const a = DateTime.fromJSDate(anchor, { zone: timeZone });
  const e = DateTime.fromJSDate(currentEnd, { zone: timeZone });
  const unit = cycle === 'yearly' ? 'years' : 'months';
  // Start one unit below the diff (clamped month ends make it approximate), then step
  // forward to the first grid point strictly after currentEnd.
  let n = Math.max(1, Math.floor(e.diff(a, unit).get(unit)) - 1);
  let candidate = addBillingPeriods(anchor, n, cycle, timeZone);
  while (candidate.getTime() <= currentEnd.getTime()) {
    n += 1;
    candidate = addBillingPeriods(anchor, n, cycle, timeZone);
  }
  return candidate;
}

/** `days` calendar days later in `timeZone` (a trial of 7 days ends at the same local time). */
export function addDays(start: Date, days: number, timeZone: string): Date {
  return DateTime.fromJSDate(start, { zone: timeZone }).plus({ days }).toJSDate();
}
