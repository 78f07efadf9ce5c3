import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Percent-of-balance buys on live bots. The balance is on the exchange and only the worker holds
 * the keys, so the order row carries the percent (`quote_percent`) and the TradingManager resolves
 * it into `quote_amount` when it places the order. An order still has exactly one sizing: amount,
 * quote_amount, or quote_percent — the latter with the quote_amount it resolved to, once placed.
 */
export class OrdersQuotePercent1763900001100 implements MigrationInterface {
  name = 'OrdersQuotePercent1763900001100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN quote_percent numeric(36,18) CHECK (quote_percent > 0 AND quote_percent <= 100)`);
    // orders_check is PostgreSQL's name for the unnamed table CHECK of 1763900000400-Orders.
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_check`);
    await q.query(`
      ALTER TABLE orders ADD CONSTRAINT orders_one_sizing CHECK (
        CASE WHEN quote_percent IS NULL THEN (amount IS NULL) <> (quote_amount IS NULL)
             ELSE amount IS NULL AND side = 'buy' END
      )`);
  }

  // Fails (and changes nothing) while an order sized only by its percent exists: it has no other sizing to keep.
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_one_sizing`);
    await q.query(`ALTER TABLE orders DROP COLUMN quote_percent`);
    await q.query(`ALTER TABLE orders ADD CONSTRAINT orders_check CHECK ((amount IS NULL) <> (quote_amount IS NULL))`);
  }
}
