import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * bots.started_at: when a stopped bot was last started again (NULL: running since it was created).
 * An order accepted before it was accepted before a stop the user made since: the placement rule
 * cancels it (bot_stopped) instead of trading an alert from before the stop after the restart.
 */
export class BotsStartedAt1766400000100 implements MigrationInterface {
  name = 'BotsStartedAt1766400000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bots ADD COLUMN started_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bots DROP COLUMN started_at`);
  }
}
