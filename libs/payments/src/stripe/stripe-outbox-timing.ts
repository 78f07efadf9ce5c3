import { DomainError } from '@torgovo/core';

/** Timing shared by the Stripe outbox's queues (cancellations, customer deletions). */

/** A claimed row is the job's for so long; a crashed worker's rows come back after it. */
export const STRIPE_OUTBOX_LEASE_SECONDS = 300;
const BACKOFF_BASE_SECONDS = 30;
const BACKOFF_MAX_SECONDS = 3600;

/** Seconds before a row whose `attempts`-th try failed is tried again: 30 s, doubling, at most an hour. */
export function stripeOutboxRetrySeconds(attempts: number): number {
  return Math.min(BACKOFF_BASE_SECONDS * 2 ** (Math.max(attempts, 1) - 1), BACKOFF_MAX_SECONDS);
}

/** What a failed Stripe call is recorded as (a domain error's code, else the error's message): never the request's data. */
export function stripeOutboxErrorCode(err: unknown): string {
  const code = err instanceof DomainError ? err.code : err instanceof Error ? err.message : 'unknown';
  return code.slice(0, 255);
}
