import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * managed_bot_signals.content_key: the content hash of a signal sent without a signal_id (null for one
 * with a signal_id). Such a signal is a repeat only of the same content accepted within
 * MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS (signal-repeat.ts): the fan-out looks the window up by this
 * index. Until now its signal_id was `h:<content hash>`, which made the same content a repeat forever;
 * those rows get their content_key from it, so a retry sent across the deploy is still recognised.
 */
export class ManagedSignalContentKey1766700000000 implements MigrationInterface {
  name = 'ManagedSignalContentKey1766700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE managed_bot_signals ADD COLUMN content_key varchar(64)`);
    await q.query(`UPDATE managed_bot_signals SET content_key = substr(signal_id, 3) WHERE signal_id ~ '^h:[0-9a-f]{64}$'`);
    await q.query(`CREATE INDEX managed_bot_signals_content_idx ON managed_bot_signals (managed_bot_id, content_key, created_at DESC) WHERE content_key IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX managed_bot_signals_content_idx`);
    await q.query(`ALTER TABLE managed_bot_signals DROP COLUMN content_key`);
  }
}
