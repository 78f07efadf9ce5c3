import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stripe customers to delete at Stripe because their account was erased (the customer keeps the
 * person's email and name there): written in the erasure's transaction, deleted at Stripe by the
 * Stripe outbox job afterwards, so an erasure never waits on Stripe. One row per Stripe customer;
 * next_attempt_at is both the job's lease and the retry backoff. The row also keeps which user the
 * customer was, for Stripe events that arrive after the erasure (a Checkout paid just before it is
 * refunded, not dropped as an unknown customer): users.stripe_customer_id is cleared at erasure.
 * Accounts erased before this migration are queued here.
 */
export class StripeCustomerDeletions1766600000710 implements MigrationInterface {
  name = 'StripeCustomerDeletions1766600000710';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stripe_customer_deletions (
        stripe_customer_id varchar(255) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        reason varchar(40) NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,
        outcome varchar(16) CHECK (outcome IN ('deleted', 'already_deleted'))
      )`);
    await q.query(`CREATE INDEX stripe_customer_deletions_due_idx ON stripe_customer_deletions (next_attempt_at) WHERE done_at IS NULL`);
    await q.query(`CREATE INDEX stripe_customer_deletions_user_idx ON stripe_customer_deletions (user_id)`);
    await q.query(`
      INSERT INTO stripe_customer_deletions (stripe_customer_id, user_id, reason)
      SELECT stripe_customer_id, id, 'account_erased' FROM users WHERE erased_at IS NOT NULL AND stripe_customer_id IS NOT NULL`);
    await q.query(`UPDATE users SET stripe_customer_id = NULL WHERE erased_at IS NOT NULL AND stripe_customer_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Customers not deleted yet go back on their (erased) rows; deleted ones are gone at Stripe too.
    await q.query(`
      UPDATE users u SET stripe_customer_id = d.stripe_customer_id
        FROM (SELECT DISTINCT ON (user_id) user_id, stripe_customer_id FROM stripe_customer_deletions
               WHERE done_at IS NULL ORDER BY user_id, created_at) d
       WHERE u.id = d.user_id AND u.stripe_customer_id IS NULL`);
    await q.query(`DROP TABLE stripe_customer_deletions`);
  }
}
