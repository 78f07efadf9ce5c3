import { MigrationInterface, QueryRunner } from 'typeorm';

export class Orders1763900000400 implements MigrationInterface {
  name = 'Orders1763900000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        bot_id uuid,
        managed_bot_id uuid,
        source varchar(16) NOT NULL CHECK (source IN ('webhook', 'managed', 'manual')),
        source_ref varchar(128) NOT NULL,
        mode varchar(8) NOT NULL CHECK (mode IN ('paper', 'live')),
        exchange varchar(32) NOT NULL,
        symbol varchar(32) NOT NULL,
        side varchar(4) NOT NULL CHECK (side IN ('buy', 'sell')),
        type varchar(8) NOT NULL CHECK (type IN ('market', 'limit')),
        amount numeric(36,18) CHECK (amount > 0),
        quote_amount numeric(36,18) CHECK (quote_amount > 0),
        price numeric(36,18) CHECK (price > 0),
        status varchar(16) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'submitting', 'open', 'filled', 'canceled', 'rejected', 'failed')),
        filled numeric(36,18) NOT NULL DEFAULT 0,
        average numeric(36,18),
        cost numeric(36,18),
        fee numeric(36,18),
        fee_currency varchar(16),
        client_order_id varchar(32) NOT NULL CHECK (client_order_id ~ '^[A-Za-z0-9]{1,32}$'),
        exchange_order_id varchar(64),
        reason text,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        closed_at timestamptz,
        CHECK ((amount IS NULL) <> (quote_amount IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX orders_source_ref_key ON orders (source, source_ref)`);
    await q.query(`CREATE UNIQUE INDEX orders_client_order_id_key ON orders (client_order_id)`);
    await q.query(`CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC)`);
    await q.query(`CREATE INDEX orders_bot_idx ON orders (bot_id) WHERE bot_id IS NOT NULL`);
    // The TradingManager's queue: only work that is due, in order.
    await q.query(`CREATE INDEX orders_queue_idx ON orders (next_attempt_at) WHERE status IN ('pending', 'submitting')`);
    await q.query(`CREATE INDEX orders_open_idx ON orders (updated_at) WHERE status = 'open'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE orders`);
  }
}
