import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bot counters (signals_received, orders_created, last_signal_at) are counted from the webhook
 * request log; the retention sweep deletes old log rows and adds them here in the same statement,
 * so the lifetime counters lose nothing. No FK to bots: like webhook_events, it must never make
 * the sweep fail.
 */
export class BotSignalRollups1763900001200 implements MigrationInterface {
  name = 'BotSignalRollups1763900001200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bot_signal_rollups (
        bot_id uuid PRIMARY KEY,
        signals_received bigint NOT NULL DEFAULT 0,
        orders_created bigint NOT NULL DEFAULT 0,
        last_signal_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE bot_signal_rollups`);
  }
}
