/**
 * source_ref of a follower's orders (unique with source 'managed'; the client order id derives from
 * it, so the same signal and follow always give the same id):
 *   sig:<signal row id>:<follow id>        a signal fanned out
 *   close:<follow id>:<symbol>:<epoch ms>  closing what a follow holds (unsubscribe, stop-loss)
 */
export const SIGNAL_REF_PREFIX = 'sig:';
export const CLOSING_REF_PREFIX = 'close:';

/** SQL for the source_ref of a fanned-out order. */
export const signalRefSql = (signalIdSql: string, followIdSql: string): string => `'${SIGNAL_REF_PREFIX}' || ${signalIdSql}::text || ':' || ${followIdSql}::text`;

export function closingRef(followId: string, symbol: string, at: Date): string {
  return `${CLOSING_REF_PREFIX}${followId}:${symbol}:${at.getTime()}`;
}

/** The follow an order was written for (and, fanned out, its signal row); null for a ref of neither shape. */
export function followIdOf(sourceRef: string): { followId: string; closing: boolean; signalId: string | null } | null {
  const parts = sourceRef.split(':');
  if (sourceRef.startsWith(SIGNAL_REF_PREFIX) && parts.length === 3) return { followId: parts[2], closing: false, signalId: parts[1] };
  if (sourceRef.startsWith(CLOSING_REF_PREFIX) && parts.length >= 3) return { followId: parts[1], closing: true, signalId: null };
  return null;
}
