import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stripe subscriptions to cancel at Stripe because our side ended them (the billing sweep
 * expired a card subscription): written in the sweep's transaction, cancelled at Stripe by a
 * worker job afterwards, so the sweep never waits on Stripe. One row per Stripe subscription;
 * next_attempt_at is both the lease of the job working on it and the retry backoff.
 */
export class StripeCancelOutbox1763900001300 implements MigrationInterface {
  name = 'StripeCancelOutbox1763900001300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stripe_cancel_outbox (
        stripe_subscription_id varchar(255) PRIMARY KEY,
        subscription_id uuid NOT NULL,
        reason varchar(40) NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz
      )`);
    await q.query(`CREATE INDEX stripe_cancel_outbox_due_idx ON stripe_cancel_outbox (next_attempt_at) WHERE done_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE stripe_cancel_outbox`);
  }
}
