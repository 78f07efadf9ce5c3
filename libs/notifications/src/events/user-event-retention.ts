import { retentionPolicy } from '@torgovo/core';
import { NotificationsConfig } from '../notifications-config';

/**
 * User events go after USER_EVENTS_RETENTION_HOURS (≥ 24 h, the resume window), oldest first, in
 * bounded batches — but never one a feed consumer (the notification fan-out) has not read yet.
 */
export const userEventsRetention = retentionPolicy({
  name: 'user_events',
  sql: `DELETE FROM user_events WHERE (xid, id) IN (
          SELECT e.xid, e.id FROM user_events e
           WHERE e.created_at < $1
             AND NOT EXISTS (SELECT 1 FROM user_event_consumers c WHERE (c.xid, c.id) < (e.xid, e.id))
           ORDER BY e.created_at LIMIT $2)`,
  cutoff: (now) => new Date(now.getTime() - NotificationsConfig.fromEnv(process.env).USER_EVENTS_RETENTION_HOURS * 3_600_000),
});
