import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether an access token's session (its refresh family) has ended is asked on every authenticated
 * request and every live-update delivery (sessionEndedSql: a revoked row of the family). On
 * refresh_tokens_family_idx alone that visits every row of the family — one per refresh, kept until the
 * family expires, so a tab open for months holds thousands (measured: 33–86 ms at 8,640 rows). Only
 * revoked rows answer it: a partial index of those makes it one probe.
 */
export class RefreshTokensRevokedFamilyIndex1766800000200 implements MigrationInterface {
  name = 'RefreshTokensRevokedFamilyIndex1766800000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS refresh_tokens_revoked_family_idx ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS refresh_tokens_revoked_family_idx`);
  }
}
