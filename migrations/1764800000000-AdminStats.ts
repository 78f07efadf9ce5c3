import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin back office's figures and lists over 100k users / 10M orders (issue 15):
 * - order_day_stats: finished orders (closed_at set: filled, canceled, rejected, failed — rows that
 *   never change again) counted per day of closed_at in APP_TIMEZONE, mode, symbol, status and
 *   reason code, with their traded quote volume. Filled in by the trading lib's rollup job up to
 *   order_stats_state.rolled_up_to; readers add the finished orders past that point (orders_closed_idx)
 *   and the unfinished ones (the queue/open partial indexes), so a figure is exact whether or not the
 *   job has run. Rolled up under the timezone stored beside it: another APP_TIMEZONE rebuilds it.
 * - indexes the admin lists page by (newest first) and filter on: orders by created_at, status and
 *   symbol; audit logs, payments and subscriptions by created_at; completed payments by confirmed_at
 *   (revenue by month, index-only).
 * The indexes are built in the migration's transaction (writes to those tables wait meanwhile: on a
 * large production table build them CONCURRENTLY by hand first, then this migration's IF NOT EXISTS skips them).
 */
export class AdminStats1764800000000 implements MigrationInterface {
  name = 'AdminStats1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE order_day_stats (
        day date NOT NULL,
        mode varchar(8) NOT NULL,
        symbol varchar(32) NOT NULL,
        status varchar(16) NOT NULL,
        reason_code varchar(64) NOT NULL,
        orders bigint NOT NULL,
        filled_orders bigint NOT NULL,
        quote_volume numeric NOT NULL,
        PRIMARY KEY (day, mode, symbol, status, reason_code)
      )`);
    await q.query(`
      CREATE TABLE order_stats_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        rolled_up_to timestamptz NOT NULL,
        timezone text NOT NULL
      )`);
    // Nothing rolled up yet: the first run of the job sets its timezone and starts from the oldest order.
    await q.query(`INSERT INTO order_stats_state (id, rolled_up_to, timezone) VALUES (1, '-infinity', '')`);

    await q.query(`CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at)`);
    await q.query(`CREATE INDEX IF NOT EXISTS orders_closed_idx ON orders (closed_at) WHERE closed_at IS NOT NULL`);
    await q.query(`CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at)`);
    await q.query(`CREATE INDEX IF NOT EXISTS orders_symbol_created_idx ON orders (symbol, created_at)`);
    await q.query(`CREATE INDEX IF NOT EXISTS audit_logs_created_idx ON audit_logs (created_at)`);
    await q.query(`CREATE INDEX IF NOT EXISTS payments_created_idx ON payments (created_at)`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS payments_completed_idx ON payments (confirmed_at) INCLUDE (plan_id, kind, amount_usd) WHERE status = 'completed'`,
    );
    await q.query(`CREATE INDEX IF NOT EXISTS user_subscriptions_created_idx ON user_subscriptions (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'user_subscriptions_created_idx',
      'payments_completed_idx',
      'payments_created_idx',
      'audit_logs_created_idx',
      'orders_symbol_created_idx',
      'orders_status_created_idx',
      'orders_closed_idx',
      'orders_created_idx',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${index}`);
    }
    await q.query(`DROP TABLE order_stats_state`);
    await q.query(`DROP TABLE order_day_stats`);
  }
}
