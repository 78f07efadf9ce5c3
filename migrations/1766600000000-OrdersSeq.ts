import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * orders.seq: the order's place among orders written in the same transaction. created_at is the
 * transaction's start (now()), so every order one accept statement wrote (the alerts that arrived
 * together at a bar close, a "buy" and a "close" of one bot among them) had the same created_at, and
 * the queue's FIFO tie-break was the random uuid: half the time the close ran first (canceled
 * no_position) and the buy after it, leaving the bot long. Writers insert in arrival order, so
 * (created_at, seq) is the order the alerts arrived in. Existing rows keep NULL (sorted after any
 * seq of the same created_at; none shares one with a new row). The queue-heads index follows
 * (orders_queue_heads_seq_idx; the old one is dropped by 1766600000100).
 */
export class OrdersSeq1766600000000 implements MigrationInterface {
  name = 'OrdersSeq1766600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE orders_seq_seq AS bigint`);
    await q.query(`ALTER TABLE orders ADD COLUMN seq bigint`);
    await q.query(`ALTER TABLE orders ALTER COLUMN seq SET DEFAULT nextval('orders_seq_seq')`);
    await q.query(`ALTER SEQUENCE orders_seq_seq OWNED BY orders.seq`);
    // Under a new name, IF NOT EXISTS: on a large orders table build it CONCURRENTLY by hand first
    // (same definition) and this skips it; a plain build blocks writes to orders while it scans.
    // The old index is dropped by the next migration, in its own transaction.
    await q.query(
      `CREATE INDEX IF NOT EXISTS orders_queue_heads_seq_idx ON orders (user_id, mode, created_at, seq, id) INCLUDE (next_attempt_at) WHERE status IN ('pending', 'submitting')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS orders_queue_heads_seq_idx`);
    await q.query(`ALTER TABLE orders DROP COLUMN seq`);
  }
}
