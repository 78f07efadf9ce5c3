import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * orders.cancel_retry_at: when the cancel job may try again to cancel an open order on the exchange
 * after an attempt that did not settle it (NULL: not tried yet — at once). It used to gate on
 * updated_at, which the open-orders sync touches on every look-up, so a cancel the user asked for
 * could wait for sync cycles (forever, with every order looked up within the retry delay).
 */
export class OrdersCancelRetryAt1766500000100 implements MigrationInterface {
  name = 'OrdersCancelRetryAt1766500000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN cancel_retry_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders DROP COLUMN cancel_retry_at`);
  }
}
