import { sha256Hex } from '@torgovo/core';

/**
 * Deterministic client order id: 't' + 31 hex chars of SHA-256(source:source_ref).
 * OKX allows ≤ 32 alphanumerics; the same signal always yields the same id, so a retry or
 * a reconciliation can always find the order on the exchange.
 */
export function clientOrderIdFor(source: string, sourceRef: string): string {
  return 't' + sha256Hex(`${source}:${sourceRef}`).slice(0, 31);
}

/**
 * The same id in SQL, for a statement that writes many orders at once (a managed signal's fan-out):
 * `sourceSql` and `sourceRefSql` are SQL expressions (a literal or a column).
 */
export function clientOrderIdSql(sourceSql: string, sourceRefSql: string): string {
  return `('t' || substr(encode(sha256(convert_to(${sourceSql} || ':' || ${sourceRefSql}, 'UTF8')), 'hex'), 1, 31))`;
}
