import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin back office's user management: when each user last logged in (set by login, so the
 * user detail needs no scan of the audit log), when an account was erased (personal data gone,
 * financial rows kept), and the index the admin list pages by (newest first).
 */
export class AdminUsers1764700000000 implements MigrationInterface {
  name = 'AdminUsers1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN last_login_at timestamptz NULL, ADD COLUMN erased_at timestamptz NULL`);
    await q.query(`CREATE INDEX users_created_at_idx ON users (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX users_active_admins_idx ON users (id) WHERE role = 'admin' AND is_active`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_active_admins_idx`);
    await q.query(`DROP INDEX users_created_at_idx`);
    await q.query(`ALTER TABLE users DROP COLUMN erased_at, DROP COLUMN last_login_at`);
  }
}
