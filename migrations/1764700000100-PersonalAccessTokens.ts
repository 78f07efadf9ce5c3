import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Personal access tokens (API access for plans that include it): stored as sha256 only, scoped
 * read or trade, revocable, with the time of last use. `api_access` marks the plans that include
 * the API (Enterprise at seed).
 */
export class PersonalAccessTokens1764700000100 implements MigrationInterface {
  name = 'PersonalAccessTokens1764700000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscription_plans ADD COLUMN api_access boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE subscription_plans SET api_access = true, features = features || '["API access"]'::jsonb WHERE code = 'enterprise'`);
    await q.query(`
      CREATE TABLE personal_access_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        scope varchar(8) NOT NULL CHECK (scope IN ('read', 'trade')),
        token_hash char(64) NOT NULL,
        token_hint varchar(8) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NULL,
        revoked_at timestamptz NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX personal_access_tokens_hash_key ON personal_access_tokens (token_hash)`);
    await q.query(`CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE personal_access_tokens`);
    await q.query(`UPDATE subscription_plans SET features = features - 'API access' WHERE code = 'enterprise'`);
    await q.query(`ALTER TABLE subscription_plans DROP COLUMN api_access`);
  }
}
