import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - user_subscriptions.payment_hold_until: a payment for the subscription is open or in flight at
 *   the provider until then (an open Checkout Session, a SEPA/ACH debit clearing); the pending and
 *   trial sweeps do not expire the subscription under it.
 * - payments.refund_id / refunded_at: money that arrived for a subscription that could not take it
 *   is refunded automatically at the provider; the row keeps the proof.
 */
export class BillingPaymentHoldsAndRefunds1764300000000 implements MigrationInterface {
  name = 'BillingPaymentHoldsAndRefunds1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE user_subscriptions ADD COLUMN payment_hold_until timestamptz`);
    await q.query(`ALTER TABLE payments ADD COLUMN refund_id varchar(255), ADD COLUMN refunded_at timestamptz`);
    await q.query(`CREATE UNIQUE INDEX payments_refund_id_key ON payments (refund_id) WHERE refund_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_refund_id_key`);
    await q.query(`ALTER TABLE payments DROP COLUMN refund_id, DROP COLUMN refunded_at`);
    await q.query(`ALTER TABLE user_subscriptions DROP COLUMN payment_hold_until`);
  }
}
