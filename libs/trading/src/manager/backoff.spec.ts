import { backoffMs } from './backoff';

describe('backoffMs', () => {
  const mid = () => 0.5; // no jitter

  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, 1_000, 60_000, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(backoffMs(200, 1_000, 60_000, mid)).toBe(60_000);
  });

  it('jitters by at most 20 % and never exceeds the cap', () => {
    expect(backoffMs(3, 1_000, 60_000, () => 0)).toBe(3_200);
    expect(backoffMs(3, 1_000, 60_000, () => 0.999999)).toBe(4_800);
    expect(backoffMs(10, 1_000, 60_000, () => 0.999999)).toBe(60_000);
  });
});
