import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Crypto payments (OKX deposits and CoinGate). Every rule about money is a constraint here, so
 * it holds whichever worker or replica runs:
 * - a deposit settles at most one payment: crypto_deposits.payment_id is unique, the OKX
 *   deposit id is unique per provider, and payments (okx, provider_payment_id = depId) is unique;
 * - a transaction id is never used twice: payments (crypto_currency, tx_hash) unique for okx;
 * - amounts are unique among the open payments of one address, so a deposit can be attributed.
 * Every deposit the checker sees is kept, matched or not: nothing is dropped.
 */
export class CryptoPayments1764600000000 implements MigrationInterface {
  name = 'CryptoPayments1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE payments
        ADD COLUMN deposit_address varchar(255),
        ADD COLUMN deposit_tag varchar(255),
        ADD COLUMN received_amount numeric(38,18),
        ADD COLUMN callback_token_hash varchar(64)`);
    await q.query(`
      CREATE UNIQUE INDEX payments_okx_open_amount_key
        ON payments (crypto_currency, network, deposit_address, (COALESCE(deposit_tag, '')), crypto_amount)
        WHERE provider = 'okx' AND status = 'pending'`);
    await q.query(`
      CREATE UNIQUE INDEX payments_okx_tx_key
        ON payments (crypto_currency, tx_hash) WHERE provider = 'okx' AND tx_hash IS NOT NULL`);
    // The matcher's candidate lookup: open (or just expired) OKX payments by currency and address.
    await q.query(`
      CREATE INDEX payments_okx_match_idx
        ON payments (crypto_currency, deposit_address) WHERE provider = 'okx' AND status IN ('pending', 'expired')`);

    await q.query(`
      CREATE TABLE crypto_deposits (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider varchar(16) NOT NULL DEFAULT 'okx',
        dep_id varchar(64) NOT NULL,
        tx_id varchar(255) NOT NULL DEFAULT '',
        ccy varchar(16) NOT NULL,
        chain varchar(64) NOT NULL,
        amount numeric(38,18) NOT NULL CHECK (amount >= 0),
        to_address varchar(255) NOT NULL DEFAULT '',
        tag varchar(255),
        state varchar(8) NOT NULL,
        deposited_at timestamptz NOT NULL,
        match_status varchar(16) NOT NULL DEFAULT 'new'
          CHECK (match_status IN ('new', 'matched', 'unmatched', 'assigned')),
        payment_id uuid REFERENCES payments(id) ON DELETE RESTRICT,
        matched_at timestamptz,
        assigned_by uuid REFERENCES users(id) ON DELETE SET NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((match_status IN ('matched', 'assigned')) = (payment_id IS NOT NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX crypto_deposits_dep_key ON crypto_deposits (provider, dep_id)`);
    await q.query(`CREATE UNIQUE INDEX crypto_deposits_payment_key ON crypto_deposits (payment_id) WHERE payment_id IS NOT NULL`);
    await q.query(`CREATE INDEX crypto_deposits_new_idx ON crypto_deposits (deposited_at) WHERE match_status = 'new'`);
    await q.query(`CREATE INDEX crypto_deposits_unmatched_idx ON crypto_deposits (deposited_at DESC) WHERE match_status = 'unmatched'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE crypto_deposits`);
    await q.query(`DROP INDEX payments_okx_match_idx`);
    await q.query(`DROP INDEX payments_okx_tx_key`);
    await q.query(`DROP INDEX payments_okx_open_amount_key`);
    await q.query(`
      ALTER TABLE payments
        DROP COLUMN callback_token_hash, DROP COLUMN received_amount, DROP COLUMN deposit_tag, DROP COLUMN deposit_address`);
  }
}
