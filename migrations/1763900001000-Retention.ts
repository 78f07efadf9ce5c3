import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes the retention sweeps select by (RetentionSweeper): old webhook events by time, the
 * duplicate claims that point at them, and refresh tokens by expiry. Each is one btree insert
 * per row written.
 */
export class Retention1763900001000 implements MigrationInterface {
  name = 'Retention1763900001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX webhook_events_received_idx ON webhook_events (received_at)`);
    await q.query(`CREATE INDEX webhook_dedupe_event_idx ON webhook_dedupe (event_id)`);
    await q.query(`CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX refresh_tokens_expires_idx`);
    await q.query(`DROP INDEX webhook_dedupe_event_idx`);
    await q.query(`DROP INDEX webhook_events_received_idx`);
  }
}
