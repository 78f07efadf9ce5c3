/**
 * Delay before retry after the `attempt`-th transient failure (1-based): base, 2×base, 4×base…
 * capped at max, then ±20 % jitter so orders that failed together (one 429 burst, one outage)
 * do not come back together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const jitter = 1 + (random() * 2 - 1) * 0.2;
  return Math.max(1, Math.round(Math.min(maxMs, exp * jitter)));
}
