import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * managed_bots.resumed_at: when a paused managed bot was last made active again (NULL: never paused
 * and resumed). A follower order fanned out before it was fanned out before a pause: the placement
 * rule cancels it (managed_bot_paused) instead of trading a signal from before the pause after the
 * resume. The custom bots' bots.started_at does the same for a stop and a start.
 */
export class ManagedBotsResumedAt1766500000000 implements MigrationInterface {
  name = 'ManagedBotsResumedAt1766500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE managed_bots ADD COLUMN resumed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE managed_bots DROP COLUMN resumed_at`);
  }
}
