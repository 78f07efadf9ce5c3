import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * stripe_subscriptions.retired_at: the Stripe subscription no longer pays for its subscription of
 * ours (its Checkout's bank debit failed: cancelled at Stripe then). A retired link is not "the first
 * billing" of that subscription, so a new Checkout for it is linked instead of refunded as a second
 * Stripe subscription: one live link per subscription (the unique index becomes partial). Links of
 * debits that failed before this migration are retired here (not cancelled at Stripe: money arriving
 * on one is refunded and its billing stopped, as for any second Stripe subscription).
 */
export class StripeSubscriptionsRetiredAt1766500000530 implements MigrationInterface {
  name = 'StripeSubscriptionsRetiredAt1766500000530';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE stripe_subscriptions ADD COLUMN retired_at timestamptz`);
    await q.query(`DROP INDEX stripe_subscriptions_subscription_key`);
    await q.query(`CREATE UNIQUE INDEX stripe_subscriptions_subscription_key ON stripe_subscriptions (subscription_id) WHERE retired_at IS NULL`);
    await q.query(`
      UPDATE stripe_subscriptions l SET retired_at = now()
        FROM payments p
       WHERE p.stripe_subscription_id = l.stripe_subscription_id AND p.provider = 'stripe'
         AND p.status = 'failed' AND p.failure_reason = 'async_payment_failed'
         AND NOT EXISTS (SELECT 1 FROM payments c WHERE c.stripe_subscription_id = l.stripe_subscription_id AND c.status = 'completed')`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A subscription re-linked after a failed debit has two links: the retired ones go (their Stripe subscriptions were cancelled).
    await q.query(`DELETE FROM stripe_subscriptions WHERE retired_at IS NOT NULL`);
    await q.query(`DROP INDEX stripe_subscriptions_subscription_key`);
    await q.query(`CREATE UNIQUE INDEX stripe_subscriptions_subscription_key ON stripe_subscriptions (subscription_id)`);
    await q.query(`ALTER TABLE stripe_subscriptions DROP COLUMN retired_at`);
  }
}
