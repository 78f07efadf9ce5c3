import { MigrationInterface, QueryRunner } from 'typeorm';

export class PaperExchange1763900000100 implements MigrationInterface {
  name = 'PaperExchange1763900000100';

  async up(q: QueryRunner): Promise<void> {
    // One row per user who has used the paper exchange: its insertion is what seeds the
    // starting balance, so the seed happens exactly once even under concurrent first use.
    await q.query(`
      CREATE TABLE paper_accounts (
        user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE paper_balances (
        user_id uuid NOT NULL REFERENCES paper_accounts(user_id) ON DELETE CASCADE,
        currency varchar(16) NOT NULL,
        free numeric(36,18) NOT NULL DEFAULT 0 CHECK (free >= 0),
        used numeric(36,18) NOT NULL DEFAULT 0 CHECK (used >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, currency)
      )`);

    await q.query(`
      CREATE TABLE paper_orders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES paper_accounts(user_id) ON DELETE CASCADE,
        client_order_id varchar(32) NOT NULL,
        symbol varchar(32) NOT NULL,
        side varchar(4) NOT NULL CHECK (side IN ('buy', 'sell')),
        type varchar(8) NOT NULL CHECK (type IN ('market', 'limit')),
        amount numeric(36,18) NOT NULL CHECK (amount > 0),
        price numeric(36,18),
        filled numeric(36,18) NOT NULL DEFAULT 0,
        average numeric(36,18),
        cost numeric(36,18) NOT NULL DEFAULT 0,
        fee numeric(36,18) NOT NULL DEFAULT 0,
        fee_currency varchar(16),
        status varchar(16) NOT NULL CHECK (status IN ('open', 'closed', 'canceled', 'rejected')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX paper_orders_client_order_key ON paper_orders (user_id, client_order_id)`);
    // Last fill price per symbol (the paper ticker).
    await q.query(`CREATE INDEX paper_orders_user_symbol_idx ON paper_orders (user_id, symbol, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE paper_orders`);
    await q.query(`DROP TABLE paper_balances`);
    await q.query(`DROP TABLE paper_accounts`);
  }
}
