import { last30DaysFrom } from './follower-performance.service';

describe('realised_30d: the window of the last 30 days in APP_TIMEZONE', () => {
  it('is 30 calendar days, today included, in the zone (not from the UTC date)', () => {
    // 02:00 in Karachi on 26 Nov is still 25 Nov in UTC: the window is 28 Oct … 26 Nov there.
    expect(last30DaysFrom(new Date('2026-11-25T21:00:00Z'), 'Asia/Karachi')).toBe('2026-10-28');
    // Before: the UTC date of 30 days ago, 2026-10-26 — 32 days of Karachi.
    expect(last30DaysFrom(new Date('2026-11-25T12:00:00Z'), 'UTC')).toBe('2026-10-27');
    expect(last30DaysFrom(new Date('2026-11-25T12:00:00Z'), 'America/New_York')).toBe('2026-10-27');
  });
});
