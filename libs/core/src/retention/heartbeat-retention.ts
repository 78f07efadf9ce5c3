import { RetentionConfig } from './retention-config';
import { retentionPolicy } from './retention-registry';

/** A worker killed with SIGKILL never deletes its heartbeat row; a day-old beat is a dead worker. */
export const heartbeatRetention = retentionPolicy({
  name: 'worker_heartbeats',
  sql: `DELETE FROM worker_heartbeats WHERE worker_id IN (SELECT worker_id FROM worker_heartbeats WHERE beat_at < $1 LIMIT $2)`,
  cutoff: (now) => RetentionConfig.before(now, 1),
});
