import { DateTime } from 'luxon';
import { addBillingPeriods, addDays, nextPeriodEnd } from './billing-period';

const KHI = 'Asia/Karachi';
const local = (iso: string, zone = KHI): Date => DateTime.fromISO(iso, { zone }).toJSDate();
const show = (d: Date, zone = KHI): string => DateTime.fromJSDate(d, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");

describe('billing periods in APP_TIMEZONE', () => {
  it('a monthly period from Jan 31 ends on the last day of February, not in March', () => {
    expect(show(addBillingPeriods(local('2025-01-31T10:00'), 1, 'monthly', KHI))).toBe('2025-02-28T10:00');
    expect(show(addBillingPeriods(local('2024-01-31T10:00'), 1, 'monthly', KHI))).toBe('2024-02-29T10:00');
  });

  it('counts from the anchor, so the month after February returns to the 31st', () => {
    const anchor = local('2025-01-31T10:00');
    expect(show(addBillingPeriods(anchor, 2, 'monthly', KHI))).toBe('2025-03-31T10:00');
    expect(show(addBillingPeriods(anchor, 3, 'monthly', KHI))).toBe('2025-04-30T10:00');
    const febEnd = addBillingPeriods(anchor, 1, 'monthly', KHI);
    expect(show(nextPeriodEnd(anchor, febEnd, 'monthly', KHI))).toBe('2025-03-31T10:00');
    expect(show(nextPeriodEnd(anchor, addBillingPeriods(anchor, 3, 'monthly', KHI), 'monthly', KHI))).toBe('2025-05-31T10:00');
  });

  it('yearly: Feb 29 of a leap year ends on Feb 28, and the next leap year comes back to the 29th', () => {
    const anchor = local('2024-02-29T12:00');
    expect(show(addBillingPeriods(anchor, 1, 'yearly', KHI))).toBe('2025-02-28T12:00');
    expect(show(addBillingPeriods(anchor, 4, 'yearly', KHI))).toBe('2028-02-29T12:00');
    expect(show(nextPeriodEnd(anchor, local('2027-02-28T12:00'), 'yearly', KHI))).toBe('2028-02-29T12:00');
  });

  it('crosses the year end', () => {
    expect(show(addBillingPeriods(local('2025-12-31T08:00'), 1, 'monthly', KHI))).toBe('2026-01-31T08:00');
    expect(show(addBillingPeriods(local('2025-11-30T08:00'), 2, 'monthly', KHI))).toBe('2026-01-30T08:00');
    expect(show(addBillingPeriods(local('2025-12-31T08:00'), 2, 'monthly', KHI))).toBe('2026-02-28T08:00');
  });

  it('a start at 23:30 local (18:30 UTC) keeps its local day and time', () => {
    const start = local('2025-01-31T23:30');
    expect(start.toISOString()).toBe('2025-01-31T18:30:00.000Z');
    const end = addBillingPeriods(start, 1, 'monthly', KHI);
    expect(show(end)).toBe('2025-02-28T23:30');
    expect(end.toISOString()).toBe('2025-02-28T18:30:00.000Z');
  });

  it('uses the local calendar, not UTC: 00:30 on Mar 1 in Karachi is still Feb 28 in UTC', () => {
    const start = local('2025-03-01T00:30'); // 2025-02-28T19:30Z
    expect(start.toISOString()).toBe('2025-02-28T19:30:00.000Z');
    // Local: Mar 1 → Apr 1. A UTC computation would give Feb 28 → Mar 28 (wrong month end).
    expect(show(addBillingPeriods(start, 1, 'monthly', KHI))).toBe('2025-04-01T00:30');
    expect(addBillingPeriods(start, 1, 'monthly', KHI).toISOString()).toBe('2025-03-31T19:30:00.000Z');
  });

  it('keeps the local wall time across a DST change in another zone', () => {
    const ny = 'America/New_York';
    const start = local('2025-02-28T23:30', ny); // EST, UTC-5
    const end = addBillingPeriods(start, 1, 'monthly', ny); // EDT, UTC-4
    expect(show(end, ny)).toBe('2025-03-28T23:30');
    expect(end.getTime() - start.getTime()).toBe((28 * 24 - 1) * 3600 * 1000);
  });

  it('nextPeriodEnd is strictly after the current end even from a stale end', () => {
    const anchor = local('2025-01-15T09:00');
    expect(show(nextPeriodEnd(anchor, anchor, 'monthly', KHI))).toBe('2025-02-15T09:00');
    expect(show(nextPeriodEnd(anchor, local('2025-06-20T00:00'), 'monthly', KHI))).toBe('2025-07-15T09:00');
  });

  it('adds trial days in local calendar days', () => {
    expect(show(addDays(local('2025-02-25T23:30'), 7, KHI))).toBe('2025-03-04T23:30');
  });

  it('rejects an unknown time zone', () => {
    expect(() => addBillingPeriods(new Date(), 1, 'monthly', 'Mars/Olympus')).toThrow(/time zone/);
  });
});
