import { RetentionConfig, retentionPolicy } from '@torgovo/core';

/**
 * Sent (or given up) e-mails are kept as long as processed provider events, then go: each event
 * that asks for an e-mail happens once (guarded updates), so the dedupe key is not needed longer.
 */
export const notificationOutboxRetention = retentionPolicy({
  name: 'notification_outbox_done',
  sql: `DELETE FROM notification_outbox WHERE id IN (
          SELECT id FROM notification_outbox WHERE status <> 'pending' AND created_at < $1 LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.PROCESSED_EVENT_RETENTION_DAYS),
});
