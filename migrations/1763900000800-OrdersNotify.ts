import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wakes the TradingManager when pending orders are inserted: NOTIFY is delivered at commit (never
 * for an uncommitted order) and coalesced per transaction. Per statement with a transition table,
 * so a fan-out of many orders is one notification and an insert of nothing (a duplicate alert) none.
 */
export class OrdersNotify1763900000800 implements MigrationInterface {
  name = 'OrdersNotify1763900000800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION orders_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_orders WHERE status = 'pending') THEN
          PERFORM pg_notify('torgovo_orders', '');
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER orders_notify_pending AFTER INSERT ON orders
        REFERENCING NEW TABLE AS new_orders
        FOR EACH STATEMENT EXECUTE FUNCTION orders_notify_pending()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER orders_notify_pending ON orders`);
    await q.query(`DROP FUNCTION orders_notify_pending()`);
  }
}
