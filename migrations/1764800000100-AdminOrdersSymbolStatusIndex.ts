import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin order list filtered by symbol AND status (e.g. rejected NEAR/USDT orders) scanned every
 * row of that status and took seconds at 7M orders (bench/RESULTS.md). (symbol, status, created_at)
 * serves both filters in created_at order, and a symbol alone by its prefix (the capped count);
 * a symbol alone is listed newest first through orders_created_idx, as a symbol is a few % of all orders.
 */
export class AdminOrdersSymbolStatusIndex1764800000100 implements MigrationInterface {
  name = 'AdminOrdersSymbolStatusIndex1764800000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS orders_symbol_status_created_idx ON orders (symbol, status, created_at)`);
    await q.query(`DROP INDEX IF EXISTS orders_symbol_created_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS orders_symbol_created_idx ON orders (symbol, created_at)`);
    await q.query(`DROP INDEX IF EXISTS orders_symbol_status_created_idx`);
  }
}
