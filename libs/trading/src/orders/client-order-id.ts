import { createHash } from 'node:crypto';

/**
 * Deterministic client order id: 't' + 31 hex chars of SHA-256(source:source_ref).
 * OKX allows ≤ 32 alphanumerics; the same signal always yields the same id, so a retry or
 * a reconciliation can always find the order on the exchange.
 */
export function clientOrderIdFor(source: string, sourceRef: string): string {
  return 't' + createHash('sha256').update(`${source}:${sourceRef}`).digest('hex').slice(0, 31);
}
