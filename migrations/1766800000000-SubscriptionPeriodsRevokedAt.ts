import { MigrationInterface, QueryRunner } from 'typeorm';

/** A period whose payment was refunded in full no longer counts as paid time (revokePaidPeriod). */
export class SubscriptionPeriodsRevokedAt1766800000000 implements MigrationInterface {
  name = 'SubscriptionPeriodsRevokedAt1766800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscription_periods ADD COLUMN revoked_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscription_periods DROP COLUMN revoked_at`);
  }
}
