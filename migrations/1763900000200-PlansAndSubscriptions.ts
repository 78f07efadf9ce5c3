import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plans, user subscriptions and the paid periods applied to them.
 * "Current" subscription states are active, trial and past_due: at most one per
 * (user, plan_type), enforced by a partial unique index. pending_payment is not current
 * (a plan change waits there while the old plan stays current) and has its own
 * one-per-type index, so activation can swap the two inside one transaction.
 */
export class PlansAndSubscriptions1763900000200 implements MigrationInterface {
  name = 'PlansAndSubscriptions1763900000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE subscription_plans (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code varchar(64) NOT NULL,
        plan_type varchar(16) NOT NULL CHECK (plan_type IN ('custom_bot', 'managed_bot')),
        name varchar(100) NOT NULL,
        description text NOT NULL DEFAULT '',
        monthly_price numeric(12,2) NOT NULL CHECK (monthly_price >= 0),
        yearly_price numeric(12,2) NOT NULL CHECK (yearly_price >= 0),
        features jsonb NOT NULL DEFAULT '[]'::jsonb,
        max_bots integer CHECK (max_bots IS NULL OR max_bots >= 0),
        max_trading_pairs integer CHECK (max_trading_pairs IS NULL OR max_trading_pairs >= 0),
        live_trading boolean NOT NULL DEFAULT false,
        trial_days integer NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 365),
        guaranteed_monthly_return numeric(7,4) CHECK (guaranteed_monthly_return BETWEEN 0 AND 100),
        profit_share_percentage numeric(7,4) CHECK (profit_share_percentage BETWEEN 0 AND 100),
        stripe_monthly_price_id varchar(255),
        stripe_yearly_price_id varchar(255),
        is_active boolean NOT NULL DEFAULT true,
        sort_order integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT subscription_plans_managed_fields CHECK (
          plan_type = 'managed_bot' OR (guaranteed_monthly_return IS NULL AND profit_share_percentage IS NULL)
        )
      )`);
    await q.query(`CREATE UNIQUE INDEX subscription_plans_code_key ON subscription_plans (code)`);
    // Target of the composite foreign key below: a subscription's denormalized plan_type
    // can never disagree with its plan's.
    await q.query(`CREATE UNIQUE INDEX subscription_plans_id_type_key ON subscription_plans (id, plan_type)`);

    await q.query(`
      CREATE TABLE user_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        plan_id uuid NOT NULL,
        plan_type varchar(16) NOT NULL,
        status varchar(20) NOT NULL
          CHECK (status IN ('active', 'cancelled', 'expired', 'trial', 'pending_payment', 'past_due')),
        billing_cycle varchar(8) NOT NULL CHECK (billing_cycle IN ('monthly', 'yearly')),
        payment_method varchar(8) NOT NULL CHECK (payment_method IN ('stripe', 'crypto', 'none')),
        auto_renew boolean NOT NULL DEFAULT true,
        cancel_at_period_end boolean NOT NULL DEFAULT false,
        start_date timestamptz,
        end_date timestamptz,
        period_anchor timestamptz,
        trial_ends_at timestamptz,
        renewal_requested_for timestamptz,
        stripe_subscription_id varchar(255),
        replaces_id uuid REFERENCES user_subscriptions(id),
        replaced_by_id uuid REFERENCES user_subscriptions(id),
        cancelled_at timestamptz,
        ended_at timestamptz,
        end_reason varchar(40),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT user_subscriptions_plan_fk FOREIGN KEY (plan_id, plan_type)
          REFERENCES subscription_plans (id, plan_type),
        CONSTRAINT user_subscriptions_started CHECK (status NOT IN ('active', 'trial', 'past_due') OR start_date IS NOT NULL),
        CONSTRAINT user_subscriptions_trial_end CHECK (status <> 'trial' OR end_date IS NOT NULL)
      )`);
    await q.query(`
      CREATE UNIQUE INDEX user_subscriptions_one_current
        ON user_subscriptions (user_id, plan_type) WHERE status IN ('active', 'trial', 'past_due')`);
    await q.query(`
      CREATE UNIQUE INDEX user_subscriptions_one_pending
        ON user_subscriptions (user_id, plan_type) WHERE status = 'pending_payment'`);
    await q.query(`CREATE INDEX user_subscriptions_user_idx ON user_subscriptions (user_id, created_at DESC)`);
    await q.query(`CREATE INDEX user_subscriptions_plan_idx ON user_subscriptions (plan_id)`);
    // The billing sweeps' scans: due ends, stale pending rows, upcoming crypto renewals.
    await q.query(`
      CREATE INDEX user_subscriptions_due_idx
        ON user_subscriptions (end_date) WHERE status IN ('active', 'trial', 'past_due')`);
    await q.query(`
      CREATE INDEX user_subscriptions_pending_idx
        ON user_subscriptions (created_at) WHERE status = 'pending_payment'`);
    await q.query(`
      CREATE INDEX user_subscriptions_renewal_idx ON user_subscriptions (end_date)
        WHERE status IN ('active', 'trial', 'past_due') AND payment_method = 'crypto'
          AND auto_renew AND NOT cancel_at_period_end`);
    await q.query(`
      CREATE UNIQUE INDEX user_subscriptions_stripe_key
        ON user_subscriptions (stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL`);

    // One row per payment applied to a subscription; the unique reference makes activation idempotent.
    await q.query(`
      CREATE TABLE subscription_periods (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subscription_id uuid NOT NULL REFERENCES user_subscriptions(id) ON DELETE CASCADE,
        provider varchar(16) NOT NULL,
        payment_reference varchar(255) NOT NULL,
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL CHECK (period_end > period_start),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX subscription_periods_reference_key ON subscription_periods (provider, payment_reference)`);
    await q.query(`CREATE INDEX subscription_periods_subscription_idx ON subscription_periods (subscription_id)`);

    await q.query(`
      INSERT INTO subscription_plans
        (code, plan_type, name, description, monthly_price, yearly_price, features, max_bots, max_trading_pairs,
         live_trading, trial_days, guaranteed_monthly_return, profit_share_percentage, sort_order)
      VALUES
        ('free', 'custom_bot', 'Free', 'One paper-trading bot to try TradingView signals.', 0, 0,
         '["1 custom bot", "1 trading pair", "Paper trading only"]', 1, 1, false, 0, NULL, NULL, 10),
        ('pro', 'custom_bot', 'Pro', 'Live trading with up to three bots.', 29, 290,
         '["3 custom bots", "3 trading pairs", "Live trading", "TradingView webhooks"]', 3, 3, true, 7, NULL, NULL, 20),
        ('enterprise', 'custom_bot', 'Enterprise', 'Unlimited bots and pairs, live trading.', 99, 990,
         '["Unlimited custom bots", "Unlimited trading pairs", "Live trading", "Priority support"]', NULL, NULL, true, 0, NULL, NULL, 30),
        ('managed_basic', 'managed_bot', 'Managed Basic', 'Follow one platform-run bot; profit share on gains.', 49, 490,
         '["Follow 1 managed bot", "Monthly performance report"]', 1, NULL, true, 0, 3, 20, 40),
        ('managed_premium', 'managed_bot', 'Managed Premium', 'Follow up to three platform-run bots; lower profit share.', 149, 1490,
         '["Follow 3 managed bots", "Lower profit share", "Priority support"]', 3, NULL, true, 0, 5, 15, 50)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE subscription_periods`);
    await q.query(`DROP TABLE user_subscriptions`);
    await q.query(`DROP TABLE subscription_plans`);
  }
}
