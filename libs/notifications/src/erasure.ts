import type { EntityManager } from 'typeorm';

/**
 * What an erased account leaves in the notification tables: its Telegram chat (a personal
 * identifier) and its preferences are deleted, in the erasure's transaction. Its e-mail address is
 * replaced by the erasure itself; the dispatchers send nothing to an erased account (their rows end
 * `failed` no_recipient), whatever was queued before or in the erasure's own transaction.
 */
export async function forgetNotificationChannels(m: EntityManager, userId: string): Promise<void> {
  await m.query(`DELETE FROM telegram_links WHERE user_id = $1`, [userId]);
  await m.query(`DELETE FROM notification_preferences WHERE user_id = $1`, [userId]);
}
