import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stripe: a dedupe table for provider events (event id unique per provider), the link from
 * a Stripe subscription to ours with the timestamp of the newest state applied (events
 * arrive out of order), and the Stripe ids and checkout URL on payments.
 */
export class StripePayments1763900000700 implements MigrationInterface {
  name = 'StripePayments1763900000700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE processed_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider varchar(16) NOT NULL,
        event_id varchar(255) NOT NULL,
        type varchar(100) NOT NULL,
        event_created_at timestamptz,
        received_at timestamptz NOT NULL DEFAULT now(),
        outcome varchar(40) NOT NULL DEFAULT 'processing',
        user_id uuid REFERENCES users(id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX processed_events_provider_event_key ON processed_events (provider, event_id)`);
    await q.query(`CREATE INDEX processed_events_received_idx ON processed_events (received_at)`);

    await q.query(`
      CREATE TABLE stripe_subscriptions (
        stripe_subscription_id varchar(255) PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES user_subscriptions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        stripe_customer_id varchar(255) NOT NULL,
        status varchar(32),
        cancel_at_period_end boolean NOT NULL DEFAULT false,
        current_period_start timestamptz,
        current_period_end timestamptz,
        state_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX stripe_subscriptions_subscription_key ON stripe_subscriptions (subscription_id)`);

    await q.query(`ALTER TABLE payments ADD COLUMN stripe_subscription_id varchar(255), ADD COLUMN checkout_url text`);
    await q.query(`CREATE INDEX payments_stripe_subscription_idx ON payments (stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_stripe_subscription_idx`);
    await q.query(`ALTER TABLE payments DROP COLUMN checkout_url, DROP COLUMN stripe_subscription_id`);
    await q.query(`DROP TABLE stripe_subscriptions`);
    await q.query(`DROP TABLE processed_events`);
  }
}
