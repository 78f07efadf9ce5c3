import { MigrationInterface, QueryRunner } from 'typeorm';

/** The revenue trigger's body (as in PaymentRevenueRollup), calling payment_revenue_of with `args`. */
function revenueTrigger(args: (rows: string) => string): string {
  const changesOf = (rows: string, sign: '' | '-'): string =>
    `SELECT c.at, r.plan_id, r.kind, ${sign}c.payments AS payments, ${sign}c.gross_usd AS gross_usd, ${sign}c.refunds AS refunds, ${sign}c.refunds_usd AS refunds_usd
            FROM ${rows} r CROSS JOIN LATERAL payment_revenue_of(${args('r')}) c`;
  const append = (changes: string): string => `INSERT INTO payment_revenue (at, plan_id, kind, payments, gross_usd, refunds, refunds_usd)
    SELECT at, plan_id, kind, sum(payments), sum(gross_usd), sum(refunds), sum(refunds_usd)
      FROM (${changes}) d
     GROUP BY at, plan_id, kind
    HAVING sum(payments) <> 0 OR sum(gross_usd) <> 0 OR sum(refunds) <> 0 OR sum(refunds_usd) <> 0`;
  return `
      CREATE OR REPLACE FUNCTION payments_revenue_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          ${append(changesOf('new_rows', ''))};
        ELSIF TG_OP = 'UPDATE' THEN
          ${append(`${changesOf('new_rows', '')} UNION ALL ${changesOf('old_rows', '-')}`)};
        ELSIF TG_OP = 'DELETE' THEN
          ${append(changesOf('old_rows', '-'))};
        ELSE
          DELETE FROM payment_revenue;
        END IF;
        RETURN NULL;
      END
      $$`;
}

const OLD_ARGS = (r: string): string => `${r}.status, ${r}.amount_usd, ${r}.confirmed_at, ${r}.refunded_at`;
const NEW_ARGS = (r: string): string => `${r}.status, ${r}.amount_usd, ${r}.confirmed_at, ${r}.refunded_at, ${r}.refunded_amount`;

/**
 * Refunds and disputes made at the provider (a refund from the Stripe dashboard, a chargeback), not
 * only our own automatic refunds:
 * - payments.refunded_amount: the money returned so far, refunds and lost chargebacks together (a
 *   partial refund is less than amount_usd). Every refund so far was a full one (our own, of money
 *   that could not be applied): backfilled with amount_usd. refunded_at stays the first refund's time.
 * - payments.dispute_id / dispute_status / disputed_at: the provider's dispute of the payment (one at
 *   a time), its status as the provider last reported it (open, or won/lost/warning_closed/prevented),
 *   and when it was opened.
 * - payment_revenue_of gains refunded_amount: a month's refunds_usd is the money actually returned
 *   (the amount for rows refunded before this column). It gives the same figures as before for every
 *   existing row, so the rows the trigger appended so far stay exact.
 */
export class PaymentRefundsAndDisputes1766600000300 implements MigrationInterface {
  name = 'PaymentRefundsAndDisputes1766600000300';

  async up(q: QueryRunner): Promise<void> {
    // Payment writes wait until commit: none is counted by one definition and undone by the other.
    await q.query(`LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`
      ALTER TABLE payments
        ADD COLUMN refunded_amount numeric(18,2),
        ADD COLUMN dispute_id varchar(255),
        ADD COLUMN dispute_status varchar(32),
        ADD COLUMN disputed_at timestamptz`);
    await q.query(`UPDATE payments SET refunded_amount = amount_usd WHERE refunded_at IS NOT NULL AND amount_usd > 0`);
    await q.query(`ALTER TABLE payments ADD CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount IS NULL OR (refunded_amount > 0 AND refunded_amount <= amount_usd))`);
    await q.query(`
      CREATE FUNCTION payment_revenue_of(status varchar, amount_usd numeric, confirmed_at timestamptz, refunded_at timestamptz, refunded_amount numeric)
      RETURNS TABLE (at timestamptz, payments integer, gross_usd numeric, refunds integer, refunds_usd numeric)
      LANGUAGE sql IMMUTABLE AS $$
        SELECT confirmed_at, 1, amount_usd, 0, 0::numeric WHERE confirmed_at IS NOT NULL AND (status = 'completed' OR refunded_at IS NOT NULL)
        UNION ALL
        SELECT refunded_at, 0, 0::numeric, 1, coalesce(refunded_amount, amount_usd) WHERE refunded_at IS NOT NULL
      $$`);
    await q.query(revenueTrigger(NEW_ARGS));
    await q.query(`DROP FUNCTION payment_revenue_of(varchar, numeric, timestamptz, timestamptz)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`
      CREATE FUNCTION payment_revenue_of(status varchar, amount_usd numeric, confirmed_at timestamptz, refunded_at timestamptz)
      RETURNS TABLE (at timestamptz, payments integer, gross_usd numeric, refunds integer, refunds_usd numeric)
      LANGUAGE sql IMMUTABLE AS $$
        SELECT confirmed_at, 1, amount_usd, 0, 0::numeric WHERE confirmed_at IS NOT NULL AND (status = 'completed' OR refunded_at IS NOT NULL)
        UNION ALL
        SELECT refunded_at, 0, 0::numeric, 1, amount_usd WHERE refunded_at IS NOT NULL
      $$`);
    await q.query(revenueTrigger(OLD_ARGS));
    await q.query(`DROP FUNCTION payment_revenue_of(varchar, numeric, timestamptz, timestamptz, numeric)`);
    // The old definition knows no refunded amount: a payment refunded in part counts in full in later changes.
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_refunded_amount_check`);
    await q.query(`ALTER TABLE payments DROP COLUMN refunded_amount, DROP COLUMN dispute_id, DROP COLUMN dispute_status, DROP COLUMN disputed_at`);
  }
}
