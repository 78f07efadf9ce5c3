import { RetentionConfig, retentionPolicy } from '@torgovo/core';

/** An expired refresh token is refused before reuse detection matters; it is deleted some days later. */
export const refreshTokenRetention = retentionPolicy({
  name: 'refresh_tokens',
  sql: `DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.REFRESH_TOKEN_RETENTION_DAYS),
});
