import { MigrationInterface, QueryRunner } from 'typeorm';

export class CustomBots1763900000600 implements MigrationInterface {
  name = 'CustomBots1763900000600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bots (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        symbol varchar(32) NOT NULL,
        mode varchar(8) NOT NULL CHECK (mode IN ('paper', 'live')),
        exchange varchar(32) NOT NULL,
        order_type varchar(8) NOT NULL CHECK (order_type IN ('market', 'limit')),
        sizing_type varchar(16) NOT NULL CHECK (sizing_type IN ('quote', 'base', 'percent_balance')),
        sizing_value numeric(36,18) NOT NULL CHECK (sizing_value > 0),
        status varchar(8) NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
        stop_reason varchar(64),
        deleted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (sizing_type <> 'percent_balance' OR sizing_value <= 100),
        CHECK (deleted_at IS NULL OR status = 'stopped')
      )`);
    await q.query(`CREATE INDEX bots_user_idx ON bots (user_id, created_at DESC) WHERE deleted_at IS NULL`);
    // Expiry stops every running bot of a batch of users in one UPDATE.
    await q.query(`CREATE INDEX bots_running_user_idx ON bots (user_id) WHERE status = 'running'`);
    await q.query(`ALTER TABLE orders ADD CONSTRAINT orders_bot_id_fkey FOREIGN KEY (bot_id) REFERENCES bots(id) ON DELETE SET NULL`);

    await q.query(`
      CREATE TABLE bot_webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        bot_id uuid NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
        secret_hash char(64) NOT NULL,
        is_active boolean NOT NULL DEFAULT true,
        max_lag_seconds int NOT NULL DEFAULT 300 CHECK (max_lag_seconds BETWEEN 1 AND 86400),
        rate_limit_per_minute int NOT NULL DEFAULT 60 CHECK (rate_limit_per_minute BETWEEN 1 AND 100000),
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz,
        deactivated_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX bot_webhooks_secret_hash_key ON bot_webhooks (secret_hash)`);
    await q.query(`CREATE UNIQUE INDEX bot_webhooks_one_active_per_bot ON bot_webhooks (bot_id) WHERE is_active`);
    await q.query(`CREATE INDEX bot_webhooks_user_idx ON bot_webhooks (user_id, created_at DESC)`);

    // An append-only request log; no FK on order_id/webhook_id so logging can never fail on them.
    await q.query(`
      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY,
        webhook_id uuid,
        bot_id uuid,
        received_at timestamptz NOT NULL,
        ip varchar(64),
        outcome varchar(16) NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
        status_code smallint NOT NULL,
        reason varchar(64),
        message text,
        order_id uuid,
        body text,
        body_bytes int
      )`);
    await q.query(`CREATE INDEX webhook_events_webhook_idx ON webhook_events (webhook_id, received_at DESC) WHERE webhook_id IS NOT NULL`);
    await q.query(`CREATE INDEX webhook_events_bot_idx ON webhook_events (bot_id, received_at DESC) WHERE bot_id IS NOT NULL`);

    // Claimed in the accepting transaction: the unique key makes concurrent copies of one alert wait
    // for the first and then see it. A body-hash key may be reclaimed after it expires (24 h).
    await q.query(`
      CREATE TABLE webhook_dedupe (
        webhook_id uuid NOT NULL REFERENCES bot_webhooks(id) ON DELETE CASCADE,
        dedupe_key varchar(80) NOT NULL,
        event_id uuid NOT NULL,
        expires_at timestamptz,
        PRIMARY KEY (webhook_id, dedupe_key)
      )`);
    await q.query(`CREATE INDEX webhook_dedupe_expires_idx ON webhook_dedupe (expires_at) WHERE expires_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_dedupe`);
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP TABLE bot_webhooks`);
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_bot_id_fkey`);
    await q.query(`DROP TABLE bots`);
  }
}
