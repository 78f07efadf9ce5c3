import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One payments table for every provider and kind. This migration holds the shared shape;
 * the Stripe and crypto issues add their provider-specific columns in later migrations.
 */
export class Payments1763900000300 implements MigrationInterface {
  name = 'Payments1763900000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        subscription_id uuid REFERENCES user_subscriptions(id) ON DELETE SET NULL,
        plan_id uuid REFERENCES subscription_plans(id),
        kind varchar(16) NOT NULL CHECK (kind IN ('subscription', 'renewal', 'profit_share')),
        provider varchar(16) CHECK (provider IS NULL OR provider IN ('stripe', 'okx', 'coingate')),
        status varchar(16) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'completed', 'expired', 'failed', 'cancelled')),
        amount_usd numeric(18,2) NOT NULL CHECK (amount_usd >= 0),
        currency varchar(8) NOT NULL DEFAULT 'USD',
        crypto_currency varchar(16),
        network varchar(32),
        crypto_amount numeric(38,18) CHECK (crypto_amount IS NULL OR crypto_amount > 0),
        billing_cycle varchar(8) CHECK (billing_cycle IS NULL OR billing_cycle IN ('monthly', 'yearly')),
        provider_payment_id varchar(255),
        stripe_invoice_id varchar(255),
        period_start timestamptz,
        period_end timestamptz,
        tx_hash varchar(255),
        failure_reason varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        confirmed_at timestamptz,
        expires_at timestamptz
      )`);
    await q.query(`CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC)`);
    await q.query(`CREATE INDEX payments_subscription_idx ON payments (subscription_id)`);
    await q.query(`CREATE INDEX payments_pending_expiry_idx ON payments (expires_at) WHERE status = 'pending'`);
    await q.query(`
      CREATE UNIQUE INDEX payments_provider_payment_key
        ON payments (provider, provider_payment_id) WHERE provider_payment_id IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX payments_stripe_invoice_key ON payments (stripe_invoice_id) WHERE stripe_invoice_id IS NOT NULL`);
    // At most one renewal request per subscription period, whichever worker creates it.
    // Partial: a first subscription payment may take several attempts (an expired crypto
    // payment, then a new one) for the same period.
    await q.query(`
      CREATE UNIQUE INDEX payments_renewal_once
        ON payments (subscription_id, period_end, kind) WHERE kind = 'renewal'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payments`);
  }
}
