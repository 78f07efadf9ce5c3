import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops orders_queue_heads_by_mode_idx, replaced by orders_queue_heads_seq_idx (1766600000000: the
 * queue's order is now created_at, seq). Its own migration, so the drop's brief exclusive lock on
 * orders is not held through the new index's build.
 */
export class OrdersQueueHeadsOldIndex1766600000100 implements MigrationInterface {
  name = 'OrdersQueueHeadsOldIndex1766600000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS orders_queue_heads_by_mode_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS orders_queue_heads_by_mode_idx ON orders (user_id, mode, created_at, id) INCLUDE (next_attempt_at) WHERE status IN ('pending', 'submitting')`,
    );
  }
}
