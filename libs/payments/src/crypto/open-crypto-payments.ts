import type { EntityManager } from 'typeorm';
import { PaymentErrors } from '../errors';

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

/**
 * A renewal row paid in place is not switched from an OKX deposit request that is still open (call
 * with the row locked, as PaymentTargets.resolve leaves it): the deposit could match nothing after.
 * Once expired it may be: a deposit sent in time but credited after the switch is kept unmatched.
 */
export async function assertNoOpenOkxQuote(m: EntityManager, paymentId: string): Promise<void> {
  const [open] = (await m.query(
    `SELECT expires_at FROM payments WHERE id = $1 AND provider = 'okx' AND status = 'pending' AND expires_at > now()`,
    [paymentId],
  )) as Array<{ expires_at: Date }>;
  if (open) throw PaymentErrors.renewalOpenElsewhere('OKX deposit', open.expires_at);
}
