import { MigrationInterface, QueryRunner } from 'typeorm';

/** The changes of the payments in `rows` (a transition table or payments itself), signed, as payment_revenue columns. */
function changesOf(rows: string, sign: '' | '-'): string {
  return `SELECT c.at, r.plan_id, r.kind, ${sign}c.payments AS payments, ${sign}c.gross_usd AS gross_usd, ${sign}c.refunds AS refunds, ${sign}c.refunds_usd AS refunds_usd
            FROM ${rows} r CROSS JOIN LATERAL payment_revenue_of(r.status, r.amount_usd, r.confirmed_at, r.refunded_at) c`;
}

const COLUMNS = 'at, plan_id, kind, payments, gross_usd, refunds, refunds_usd';

/** Sums `changes` per (at, plan, kind) and appends what does not cancel out. */
function append(changes: string): string {
  return `INSERT INTO payment_revenue (${COLUMNS})
    SELECT at, plan_id, kind, sum(payments), sum(gross_usd), sum(refunds), sum(refunds_usd)
      FROM (${changes}) d
     GROUP BY at, plan_id, kind
    HAVING sum(payments) <> 0 OR sum(gross_usd) <> 0 OR sum(refunds) <> 0 OR sum(refunds_usd) <> 0`;
}

/**
 * GET /admin/revenue (gross, refunds and net by month and plan) from a small table instead of every
 * completed payment (> 200 ms at 100k users, bench/RESULTS.md), exact at every moment:
 * - payment_revenue_of(status, amount_usd, confirmed_at, refunded_at): what one payment row counts for — money received (status
 *   completed, at confirmed_at) and money refunded (refunded_at set, at refunded_at). The one
 *   definition, used by the trigger below and by the rebuild in libs/payments. A refunded payment
 *   stays received in its month whatever status a refund flow gives it: the refund is its own figure.
 * - payment_revenue: signed changes. A trigger on payments appends, in the transaction of every
 *   INSERT, UPDATE, DELETE (and clears it on TRUNCATE), what the statement changed: new rows' counts
 *   minus old rows'. Whatever path writes a payment — Stripe, OKX, CoinGate, an admin, profit-share
 *   settlements — is counted once, committed or rolled back with it. Appending (never updating a
 *   shared row) means no payment transaction waits on another's lock or deadlocks over it.
 * - compacted rows: the worker folds the appended rows into one row per month (of APP_TIMEZONE,
 *   recorded in payment_revenue_state) and plan; readers sum both kinds, so a figure is exact
 *   before and after a compaction.
 * The history is appended here, one row per payment, under a lock that holds payment writes until
 * commit (like BotSignalCountersRunning): the first compaction folds it.
 */
export class PaymentRevenueRollup1765300000000 implements MigrationInterface {
  name = 'PaymentRevenueRollup1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION payment_revenue_of(status varchar, amount_usd numeric, confirmed_at timestamptz, refunded_at timestamptz)
      RETURNS TABLE (at timestamptz, payments integer, gross_usd numeric, refunds integer, refunds_usd numeric)
      LANGUAGE sql IMMUTABLE AS $$
        SELECT confirmed_at, 1, amount_usd, 0, 0::numeric WHERE confirmed_at IS NOT NULL AND (status = 'completed' OR refunded_at IS NOT NULL)
        UNION ALL
        SELECT refunded_at, 0, 0::numeric, 1, amount_usd WHERE refunded_at IS NOT NULL
      $$`);
    await q.query(`
      CREATE TABLE payment_revenue (
        at timestamptz NOT NULL,
        compacted boolean NOT NULL DEFAULT false,
        plan_id uuid,
        kind varchar(16) NOT NULL,
        payments integer NOT NULL,
        gross_usd numeric NOT NULL,
        refunds integer NOT NULL,
        refunds_usd numeric NOT NULL
      )`);
    await q.query(`CREATE INDEX payment_revenue_at_idx ON payment_revenue (at)`);
    await q.query(`
      CREATE TABLE payment_revenue_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        timezone text NOT NULL
      )`);
    // '' = nothing compacted yet: the first compaction sets the timezone.
    await q.query(`INSERT INTO payment_revenue_state (id, timezone) VALUES (1, '')`);
    await q.query(`
      CREATE FUNCTION payments_revenue_changes() RETURNS trigger LANGUAGE plpgsql AS $$
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
      $$`);
    // Writes wait from here to commit, so the history below and the trigger count each payment once.
    await q.query(`LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`CREATE TRIGGER payments_revenue_insert AFTER INSERT ON payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_revenue_changes()`);
    await q.query(
      `CREATE TRIGGER payments_revenue_update AFTER UPDATE ON payments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_revenue_changes()`,
    );
    await q.query(`CREATE TRIGGER payments_revenue_delete AFTER DELETE ON payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_revenue_changes()`);
    await q.query(`CREATE TRIGGER payments_revenue_truncate AFTER TRUNCATE ON payments FOR EACH STATEMENT EXECUTE FUNCTION payments_revenue_changes()`);
    await q.query(`INSERT INTO payment_revenue (${COLUMNS}) ${changesOf('payments', '')}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['insert', 'update', 'delete', 'truncate']) await q.query(`DROP TRIGGER payments_revenue_${t} ON payments`);
    await q.query(`DROP FUNCTION payments_revenue_changes()`);
    await q.query(`DROP TABLE payment_revenue_state`);
    await q.query(`DROP TABLE payment_revenue`);
    await q.query(`DROP FUNCTION payment_revenue_of(varchar, numeric, timestamptz, timestamptz)`);
  }
}
