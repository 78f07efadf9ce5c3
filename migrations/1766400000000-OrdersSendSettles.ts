import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * orders.send_settles_at: until when a live placement whose outcome is unknown (a timeout, a lost
 * answer) may still reach the exchange — its decision + SEND_SETTLE_MAX_MS, the bound OKX's expTime
 * enforces. Before it, "not found on the exchange" proves nothing: the executor looks the order up
 * again after it, the send fence counts the order as in flight until then, and a retry or a user's
 * cancel is not due before it. NULL: no send of the order can still arrive.
 */
export class OrdersSendSettles1766400000000 implements MigrationInterface {
  name = 'OrdersSendSettles1766400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN send_settles_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders DROP COLUMN send_settles_at`);
  }
}
