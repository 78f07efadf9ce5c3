import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * managed_bots.webhook_issued_by: the admin who issued the bot's current webhook secret. The secret
 * trades every follower on that admin's authority, so the fan-out of a webhook signal locks that
 * admin's row and refuses the signal (as an unknown secret: 404) once they are no longer an active
 * admin — demoted, deactivated or erased after handing it out.
 *
 * Backfill: a secret issued before this column gets the actor of the bot's latest
 * `managed_bot.webhook_rotated` audit row (written in the transaction that set the hash; the only
 * place a secret is issued). A secret with no such row (or whose actor is not a user) keeps NULL,
 * which the fan-out refuses: a current admin must rotate it.
 */
export class ManagedBotsWebhookIssuedBy1766650000000 implements MigrationInterface {
  name = 'ManagedBotsWebhookIssuedBy1766650000000';

  async up(q: QueryRunner): Promise<void> {
    // Users are erased, never deleted (the row stays, erased_at set); SET NULL as for created_by, should one ever be.
    await q.query(`ALTER TABLE managed_bots ADD COLUMN webhook_issued_by uuid REFERENCES users(id) ON DELETE SET NULL`);
    await q.query(`
      UPDATE managed_bots b SET webhook_issued_by = r.actor_id
        FROM (
          SELECT DISTINCT ON (a.data->>'managed_bot_id') a.data->>'managed_bot_id' AS managed_bot_id, a.actor_id
            FROM audit_logs a
           WHERE a.event_type = 'managed_bot.webhook_rotated'
           ORDER BY a.data->>'managed_bot_id', a.created_at DESC
        ) r
        JOIN users u ON u.id = r.actor_id
       WHERE b.id::text = r.managed_bot_id AND b.webhook_secret_hash IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE managed_bots DROP COLUMN webhook_issued_by`);
  }
}
