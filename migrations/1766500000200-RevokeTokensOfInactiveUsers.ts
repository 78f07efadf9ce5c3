import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A deactivation now revokes the user's personal access tokens as it does their sessions. Accounts
 * deactivated before kept theirs (refused while inactive, working again on reactivation): revoked
 * here, so every inactive account is in the state a deactivation leaves. Nothing to undo.
 */
export class RevokeTokensOfInactiveUsers1766500000200 implements MigrationInterface {
  name = 'RevokeTokensOfInactiveUsers1766500000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE personal_access_tokens t SET revoked_at = now() FROM users u WHERE u.id = t.user_id AND NOT u.is_active AND t.revoked_at IS NULL`,
    );
  }

  async down(): Promise<void> {
    // The revocations stand.
  }
}
