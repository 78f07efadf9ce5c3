import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Manual control and the order timeline (issue 14):
 * - orders.cancel_requested_at: the user asked to cancel. A pending order never sent ends `canceled`
 *   in the same statement; one that may be on the exchange keeps its status until the exchange says
 *   (the placement decision and the cancel job read it under the row lock).
 * - orders.acknowledged_at: the exchange's first answer to the placement was recorded.
 * - orders_cancel_requested_idx: the cancel job's queue (open orders with a cancel request), tiny.
 * - orders_one_pending_close: one manual close per bot waiting to be claimed; a second click returns it.
 * - health_flags: what the worker's watchdog raised, read by GET /health.
 */
export class OrderControlAndTimeline1765100000000 implements MigrationInterface {
  name = 'OrderControlAndTimeline1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN cancel_requested_at timestamptz, ADD COLUMN acknowledged_at timestamptz`);
    await q.query(`CREATE INDEX orders_cancel_requested_idx ON orders (cancel_requested_at) WHERE cancel_requested_at IS NOT NULL AND status = 'open'`);
    await q.query(
      `CREATE UNIQUE INDEX orders_one_pending_close ON orders (bot_id)
        WHERE source = 'manual' AND status = 'pending' AND sent_at IS NULL AND source_ref LIKE 'close:%'`,
    );
    await q.query(`
      CREATE TABLE health_flags (
        name varchar(64) PRIMARY KEY,
        raised boolean NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        raised_at timestamptz,
        checked_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE health_flags`);
    await q.query(`DROP INDEX orders_one_pending_close`);
    await q.query(`DROP INDEX orders_cancel_requested_idx`);
    await q.query(`ALTER TABLE orders DROP COLUMN acknowledged_at, DROP COLUMN cancel_requested_at`);
  }
}
