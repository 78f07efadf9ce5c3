import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The TradingManager picks users by their head order (oldest pending/submitting, FIFO per user):
 * `SELECT DISTINCT ON (user_id) … WHERE status IN ('pending','submitting') ORDER BY user_id,
 * created_at, id`. This partial index gives that order directly and stays as small as the queue.
 */
export class OrdersQueueHeads1763900001400 implements MigrationInterface {
  name = 'OrdersQueueHeads1763900001400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX orders_queue_heads_idx ON orders (user_id, created_at, id) INCLUDE (next_attempt_at) WHERE status IN ('pending', 'submitting')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX orders_queue_heads_idx`);
  }
}
