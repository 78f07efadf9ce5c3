import { RetentionConfig, retentionPolicy } from '@torgovo/core';

/**
 * Retention of the webhook tables (orders are never touched: they keep their own history):
 * - body-hash duplicate claims whose window has passed (reclaimable anyway; deleting them
 *   keeps the claim table small);
 * - request-log rows older than WEBHOOK_EVENT_RETENTION_DAYS, together with the claims pointing
 *   at them (alert_id claims), in one statement, so a claim never outlives the event it answers
 *   duplicates with. A bot's lifetime counters lose nothing: bot_signal_rollups counted each event
 *   when it was written.
 */
export const webhookRetention = [
  retentionPolicy({
    name: 'webhook_dedupe_expired',
    sql: `DELETE FROM webhook_dedupe WHERE ctid IN (SELECT ctid FROM webhook_dedupe WHERE expires_at IS NOT NULL AND expires_at <= $1 LIMIT $2)`,
    cutoff: (now) => now,
  }),
  retentionPolicy({
    name: 'webhook_events',
    sql: `WITH old AS (SELECT id FROM webhook_events WHERE received_at < $1 ORDER BY received_at LIMIT $2),
               claims AS (DELETE FROM webhook_dedupe WHERE event_id IN (SELECT id FROM old)),
               gone AS (DELETE FROM webhook_events WHERE id IN (SELECT id FROM old) RETURNING id)
          SELECT count(*)::int AS n FROM gone`,
    cutoff: (now, config) => RetentionConfig.before(now, config.WEBHOOK_EVENT_RETENTION_DAYS),
  }),
];
