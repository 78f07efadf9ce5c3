import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The re-seal after an ENCRYPTION_KEY rotation (CredentialResealService) reads the credentials of one
 * old key in id order, a batch at a time, and counts rows by key id: an index range scan per batch
 * instead of a scan of the table per batch. Small (an 8-character key id and a uuid per row); written
 * only at connect and at the re-seal.
 */
export class ExchangeCredentialsKeyIdIndex1766700000810 implements MigrationInterface {
  name = 'ExchangeCredentialsKeyIdIndex1766700000810';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS exchange_credentials_key_id_idx ON exchange_credentials (key_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS exchange_credentials_key_id_idx`);
  }
}
