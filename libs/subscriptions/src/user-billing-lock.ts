import type { EntityManager } from 'typeorm';
import { QueryFailedError } from 'typeorm';

/** First key of the two-key advisory lock space used for per-user billing changes. */
const USER_BILLING_LOCK = 7_204_200;

/**
 * Serializes subscription changes of one user (subscribe, cancel, activate) for the
 * rest of the transaction, so concurrent requests see each other's result instead of
 * racing to the unique index. The partial unique indexes remain the guarantee.
 */
export async function lockUserBilling(manager: EntityManager, userId: string): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [USER_BILLING_LOCK, userId]);
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const e = err.driverError as { code?: string; constraint?: string } | undefined;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
