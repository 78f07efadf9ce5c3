import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Managed bots (copy trading, libs/managed-bots):
 * - managed_bots: run by the platform; admins create, update and pause them; `webhook_secret_hash`
 *   is the admin webhook for the bot's own TradingView alerts (the secret is shown once);
 * - managed_bot_follows: one row per follow (a re-follow is a new row; one active per user and bot),
 *   with the follower's protections, investment, high-water mark (an equity level), the plan's
 *   profit share and guaranteed return agreed when following, and the performance snapshot the
 *   set-based recomputation writes from the FIFO performance engine (the follower's book is
 *   (user, managed bot); *_base hold the book's figures when this follow started, so a re-follow
 *   is never charged again for gains an earlier follow settled);
 * - managed_bot_signals: one row per signal; (managed_bot_id, signal_id) unique, so a repeated signal
 *   creates nothing (the fan-out inserts the signal and its orders in one statement);
 * - managed_profit_share_settlements: the ledger; (follow_id, period_start) unique, so a month is
 *   settled once per follow whichever worker runs it;
 * - payments.managed_bot_id: a profit_share payment names the managed bot it was charged for;
 * - orders_managed_follower_idx: a follower's orders on one managed bot (positions, performance).
 */
export class ManagedBots1765000000000 implements MigrationInterface {
  name = 'ManagedBots1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE managed_bots (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        description text NOT NULL DEFAULT '',
        exchange varchar(32) NOT NULL DEFAULT 'okx',
        symbols jsonb NOT NULL DEFAULT '[]',
        strategy varchar(64) NOT NULL DEFAULT '',
        status varchar(8) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
        min_investment numeric(36,18) NOT NULL DEFAULT 10 CHECK (min_investment > 0),
        max_investment numeric(36,18) CHECK (max_investment IS NULL OR max_investment >= min_investment),
        webhook_secret_hash varchar(64),
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX managed_bots_webhook_secret_key ON managed_bots (webhook_secret_hash) WHERE webhook_secret_hash IS NOT NULL`);

    await q.query(`
      CREATE TABLE managed_bot_follows (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        managed_bot_id uuid NOT NULL REFERENCES managed_bots(id),
        mode varchar(8) NOT NULL CHECK (mode IN ('paper', 'live')),
        exchange varchar(32) NOT NULL,
        status varchar(8) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
        end_reason varchar(32),
        initial_investment numeric(36,18) NOT NULL CHECK (initial_investment > 0),
        investment numeric(36,18) NOT NULL CHECK (investment >= 0),
        high_water_mark numeric(36,18) NOT NULL,
        max_slippage_pct numeric(6,3) NOT NULL DEFAULT 1 CHECK (max_slippage_pct >= 0.1 AND max_slippage_pct <= 3),
        stop_loss_pct numeric(6,3) CHECK (stop_loss_pct IS NULL OR (stop_loss_pct > 0 AND stop_loss_pct < 100)),
        profit_share_pct numeric(7,4) NOT NULL CHECK (profit_share_pct BETWEEN 0 AND 100),
        guaranteed_monthly_return numeric(7,4),
        current_balance numeric(36,18),
        total_profit numeric(36,18) NOT NULL DEFAULT 0,
        total_loss numeric(36,18) NOT NULL DEFAULT 0,
        net_pnl numeric(36,18) NOT NULL DEFAULT 0,
        pnl_base numeric(36,18) NOT NULL DEFAULT 0,
        profit_base numeric(36,18) NOT NULL DEFAULT 0,
        loss_base numeric(36,18) NOT NULL DEFAULT 0,
        trades int NOT NULL DEFAULT 0,
        wins int NOT NULL DEFAULT 0,
        max_drawdown numeric(36,18),
        realised_30d numeric(36,18) NOT NULL DEFAULT 0,
        last_calculated timestamptz,
        started_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX managed_bot_follows_active_key ON managed_bot_follows (user_id, managed_bot_id) WHERE status = 'active'`);
    // The fan-out's scan: the active followers of one managed bot.
    await q.query(`CREATE INDEX managed_bot_follows_fanout_idx ON managed_bot_follows (managed_bot_id) INCLUDE (user_id, mode, exchange, investment) WHERE status = 'active'`);
    await q.query(`CREATE INDEX managed_bot_follows_user_idx ON managed_bot_follows (user_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE managed_bot_signals (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        managed_bot_id uuid NOT NULL REFERENCES managed_bots(id),
        signal_id varchar(128) NOT NULL,
        source varchar(8) NOT NULL CHECK (source IN ('api', 'webhook')),
        action varchar(8) NOT NULL CHECK (action IN ('buy', 'sell', 'close')),
        symbol varchar(32) NOT NULL,
        fraction numeric(20,18) NOT NULL CHECK (fraction > 0 AND fraction <= 1),
        price numeric(36,18) CHECK (price IS NULL OR price > 0),
        orders_created int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX managed_bot_signals_key ON managed_bot_signals (managed_bot_id, signal_id)`);

    await q.query(`
      CREATE TABLE managed_profit_share_settlements (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        follow_id uuid NOT NULL REFERENCES managed_bot_follows(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        managed_bot_id uuid NOT NULL REFERENCES managed_bots(id),
        kind varchar(16) NOT NULL CHECK (kind IN ('monthly', 'unsubscribe')),
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL,
        investment numeric(36,18) NOT NULL,
        net_pnl numeric(36,18) NOT NULL,
        equity numeric(36,18) NOT NULL,
        high_water_mark_before numeric(36,18) NOT NULL,
        high_water_mark_after numeric(36,18) NOT NULL,
        rate numeric(7,4) NOT NULL,
        owed numeric(18,2) NOT NULL CHECK (owed >= 0),
        payment_id uuid REFERENCES payments(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX managed_profit_share_once ON managed_profit_share_settlements (follow_id, period_start)`);
    await q.query(`CREATE INDEX managed_profit_share_user_idx ON managed_profit_share_settlements (user_id, managed_bot_id)`);

    await q.query(`ALTER TABLE payments ADD COLUMN managed_bot_id uuid REFERENCES managed_bots(id)`);
    await q.query(`CREATE INDEX orders_managed_follower_idx ON orders (managed_bot_id, user_id, symbol) WHERE managed_bot_id IS NOT NULL`);
    // The mark: the last fill per managed bot and symbol.
    await q.query(`CREATE INDEX orders_managed_last_fill_idx ON orders (managed_bot_id, symbol, closed_at DESC NULLS LAST) WHERE managed_bot_id IS NOT NULL AND filled > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX orders_managed_last_fill_idx`);
    await q.query(`DROP INDEX orders_managed_follower_idx`);
    await q.query(`ALTER TABLE payments DROP COLUMN managed_bot_id`);
    await q.query(`DROP TABLE managed_profit_share_settlements`);
    await q.query(`DROP TABLE managed_bot_signals`);
    await q.query(`DROP TABLE managed_bot_follows`);
    await q.query(`DROP TABLE managed_bots`);
  }
}
