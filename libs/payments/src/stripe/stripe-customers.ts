import type { EntityManager } from 'typeorm';

/**
 * users.stripe_customer_id is written here only: recorded when checkout creates the customer,
 * moved to the deletion outbox (stripe_customer_deletions) when the account is erased. Either way
 * an erased account ends with no customer id on its row and every customer it had queued for
 * deletion at Stripe, whichever of the two commits first.
 */

/** Why a customer is queued for deletion. */
export type CustomerDeletionReason = 'account_erased' | 'created_after_erasure';

/**
 * In the erasure's transaction: the account's Stripe customer (which holds its email and name at
 * Stripe) is queued for deletion and its id leaves the users row, in one statement. A customer
 * being created meanwhile is queued by recordStripeCustomer instead. Nothing when it has none.
 */
const FORGET_SQL = `
  WITH old AS (
    SELECT id, stripe_customer_id FROM users WHERE id = $1 AND stripe_customer_id IS NOT NULL FOR NO KEY UPDATE
  ), queued AS (
    INSERT INTO stripe_customer_deletions (stripe_customer_id, user_id, reason)
    SELECT stripe_customer_id, id, 'account_erased' FROM old
    ON CONFLICT (stripe_customer_id) DO NOTHING
  )
  UPDATE users u SET stripe_customer_id = NULL, updated_at = now() FROM old WHERE u.id = old.id`;

export async function forgetStripeCustomer(m: EntityManager, userId: string): Promise<void> {
  await m.query(FORGET_SQL, [userId]);
}

/**
 * Records a customer just created at Stripe for the user, under the user's row lock: this is where
 * "the account is not erased" is checked, not before the Stripe call. An erasure that committed
 * during Stripe's round trip (it found no customer to delete) gets this customer queued for
 * deletion instead, in the same transaction. Returns false then.
 */
export async function recordStripeCustomer(m: EntityManager, userId: string, customerId: string): Promise<boolean> {
  const [row] = (await m.query(`SELECT erased_at FROM users WHERE id = $1 FOR NO KEY UPDATE`, [userId])) as Array<{ erased_at: Date | null }>;
  if (row && !row.erased_at) {
    await m.query(`UPDATE users SET stripe_customer_id = $2, updated_at = now() WHERE id = $1 AND stripe_customer_id IS NULL`, [userId, customerId]);
    return true;
  }
  if (row) {
    await m.query(
      `INSERT INTO stripe_customer_deletions (stripe_customer_id, user_id, reason) VALUES ($1, $2, 'created_after_erasure') ON CONFLICT (stripe_customer_id) DO NOTHING`,
      [customerId, userId],
    );
  }
  return false;
}

/**
 * The user a Stripe customer is (or was, before the account's erasure): events for an erased
 * account's customer still arrive (Stripe retries for days), and money they bring is refunded to it.
 */
export async function userOfStripeCustomer(m: EntityManager, customerId: string): Promise<string | null> {
  const rows = (await m.query(
    `SELECT id FROM users WHERE stripe_customer_id = $1
     UNION ALL
     SELECT user_id FROM stripe_customer_deletions WHERE stripe_customer_id = $1
     LIMIT 1`,
    [customerId],
  )) as Array<{ id: string }>;
  return rows[0]?.id ?? null;
}
