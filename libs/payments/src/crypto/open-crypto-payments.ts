import type { EntityManager } from 'typeorm';

/**
 * A subscription that was replaced or ended leaves no crypto payment open behind it: its pending
 * crypto and renewal requests are cancelled in the same transaction (a deposit that still comes
 * for one is kept as unmatched for an admin). Card (Stripe) payments are Stripe's to close.
 */
export async function cancelOpenCryptoPayments(m: EntityManager, subscriptionIds: string[], reason: string): Promise<number> {
  if (subscriptionIds.length === 0) return 0;
  const [, count] = (await m.query(
    `UPDATE payments SET status = 'cancelled', failure_reason = $2, updated_at = now()
      WHERE subscription_id = ANY($1::uuid[]) AND status = 'pending' AND provider IS DISTINCT FROM 'stripe'
      RETURNING id`,
    [subscriptionIds, reason],
  )) as [unknown[], number];
  return count;
}
