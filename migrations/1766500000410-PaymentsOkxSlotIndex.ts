import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every OKX quote of a deposit address by amount, whatever its status: the matcher looks for other
 * quotes near a deposit's amount (closed ones too) before it settles one, and a new quote avoids the
 * amounts of lately closed ones. payments_okx_match_idx covers only pending and expired rows.
 */
export class PaymentsOkxSlotIndex1766500000410 implements MigrationInterface {
  name = 'PaymentsOkxSlotIndex1766500000410';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX payments_okx_slot_idx ON payments (crypto_currency, deposit_address, crypto_amount) WHERE provider = 'okx'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_okx_slot_idx`);
  }
}
