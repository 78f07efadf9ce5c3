import { RetentionConfig, retentionPolicy } from '@torgovo/core';

/**
 * A family's spent tokens are what reuse detection matches a stolen copy against, so a token goes
 * only once its WHOLE family has expired (REFRESH_TOKEN_RETENTION_DAYS ago): an expired token of a
 * family still in use is kept.
 */
export const refreshTokenRetention = retentionPolicy({
  name: 'refresh_tokens',
  sql: `DELETE FROM refresh_tokens WHERE id IN (
          SELECT t.id FROM refresh_tokens t
           WHERE t.expires_at < $1
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens f WHERE f.family_id = t.family_id AND f.expires_at >= $1)
           LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.REFRESH_TOKEN_RETENTION_DAYS),
});
