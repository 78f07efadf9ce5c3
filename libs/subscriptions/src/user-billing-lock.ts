import type { EntityManager } from 'typeorm';
import { QueryFailedError } from 'typeorm';
import { SubscriptionErrors } from './errors';

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

/**
 * lockUserBilling for a change that creates a subscription (subscribe, a card or crypto checkout),
 * in the house order: the user's row share-locked first, then the billing lock (an erasure or a
 * deactivation locks the row for update, then takes the billing lock to end the subscriptions; the
 * reverse order would deadlock with it). A request the guard let in before one committed waits for
 * it and is refused (401) here; one committing later waits for this transaction and then ends what
 * it made. Callers passing their transaction to subscribe take this, not lockUserBilling, first.
 */
export async function lockActiveUserBilling(manager: EntityManager, userId: string): Promise<void> {
  const [user] = (await manager.query(`SELECT is_active, erased_at FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean; erased_at: Date | null }>;
  if (!user?.is_active || user.erased_at) throw SubscriptionErrors.accountInactive();
  await lockUserBilling(manager, userId);
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const e = err.driverError as { code?: string; constraint?: string } | undefined;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
