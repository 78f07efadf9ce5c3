import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per user, kind and channel on/off (a row only where the user changed the default: on), the
 * Telegram chat a user linked (by a one-time code sent to the platform's bot), the getUpdates
 * offset (so no update is handled twice across workers), and the plans that include Telegram
 * (Pro and Enterprise), the way `api_access` marks the API.
 */
export class NotificationChannels1765200000100 implements MigrationInterface {
  name = 'NotificationChannels1765200000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscription_plans ADD COLUMN telegram_notifications boolean NOT NULL DEFAULT false`);
    await q.query(`
      UPDATE subscription_plans SET telegram_notifications = true,
             features = CASE WHEN features ? 'Telegram notifications' THEN features ELSE features || '["Telegram notifications"]'::jsonb END
       WHERE code IN ('pro', 'enterprise')`);
    await q.query(`
      CREATE TABLE notification_preferences (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind varchar(40) NOT NULL,
        channel varchar(16) NOT NULL CHECK (channel IN ('email', 'telegram')),
        enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, kind, channel)
      )`);
    await q.query(`
      CREATE TABLE telegram_links (
        user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        chat_id bigint NULL,
        code_hash char(64) NULL,
        code_expires_at timestamptz NULL,
        linked_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX telegram_links_code_key ON telegram_links (code_hash) WHERE code_hash IS NOT NULL`);
    await q.query(`
      CREATE TABLE telegram_poll_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        next_update_id bigint NOT NULL DEFAULT 0
      )`);
    await q.query(`INSERT INTO telegram_poll_state (id) VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE telegram_poll_state`);
    await q.query(`DROP TABLE telegram_links`);
    await q.query(`DROP TABLE notification_preferences`);
    await q.query(`UPDATE subscription_plans SET features = features - 'Telegram notifications' WHERE code IN ('pro', 'enterprise')`);
    await q.query(`ALTER TABLE subscription_plans DROP COLUMN telegram_notifications`);
  }
}
