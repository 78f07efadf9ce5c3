import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each stored exchange key may do, as the exchange said when it was connected (OKX
 * GET /api/v5/account/config: perm and ip), and when that was read. Keys that can withdraw are
 * refused at connect, so a stored key never has withdraw rights from now on; keys stored before
 * this migration have null (not read yet: reconnecting reads them).
 */
export class ExchangeKeyPermissions1764900000000 implements MigrationInterface {
  name = 'ExchangeKeyPermissions1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exchange_credentials ADD COLUMN permissions jsonb, ADD COLUMN permissions_checked_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exchange_credentials DROP COLUMN permissions_checked_at, DROP COLUMN permissions`);
  }
}
