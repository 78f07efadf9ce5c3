import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditEntry, AuditService } from '@torgovo/core';
import { StripeBillingControl } from './stripe-billing-control';
import { STRIPE_OUTBOX_LEASE_SECONDS, stripeOutboxErrorCode, stripeOutboxRetrySeconds } from './stripe-outbox-timing';

/** Rows claimed per statement: one Stripe call each. */
const BATCH = 20;
const MAX_BATCHES_PER_RUN = 50;

export interface CustomerDeletionResult {
  deleted: number;
  /** Stripe no longer had it (deleted before, from the dashboard or by an earlier try whose outcome was lost): done. */
  already_deleted: number;
  failed: number;
}

interface DueRow {
  stripe_customer_id: string;
  user_id: string;
  reason: string;
  attempts: number;
}

/**
 * Claims due rows (SKIP LOCKED) and leases them by moving next_attempt_at past the Stripe calls,
 * in one short statement: no transaction stays open while Stripe answers.
 */
const CLAIM_SQL = `
  WITH due AS (
    SELECT stripe_customer_id FROM stripe_customer_deletions
     WHERE done_at IS NULL AND next_attempt_at <= $1
     ORDER BY next_attempt_at
     LIMIT $2
     FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE stripe_customer_deletions d
       SET attempts = d.attempts + 1, next_attempt_at = $1::timestamptz + $3::int * interval '1 second'
      FROM due
     WHERE d.stripe_customer_id = due.stripe_customer_id
    RETURNING d.stripe_customer_id, d.user_id, d.reason, d.attempts
  )
  SELECT * FROM claimed`;

const DONE_SQL = `
  UPDATE stripe_customer_deletions d SET done_at = now(), outcome = o.outcome, last_error = NULL
    FROM unnest($1::varchar[], $2::varchar[]) AS o(stripe_customer_id, outcome)
   WHERE d.stripe_customer_id = o.stripe_customer_id AND d.done_at IS NULL`;

const RETRY_SQL = `
  UPDATE stripe_customer_deletions d SET next_attempt_at = f.next_attempt_at, last_error = f.last_error
    FROM unnest($1::varchar[], $2::timestamptz[], $3::varchar[]) AS f(stripe_customer_id, next_attempt_at, last_error)
   WHERE d.stripe_customer_id = f.stripe_customer_id AND d.done_at IS NULL`;

/**
 * The Stripe outbox's second queue: deletes at Stripe the customers of erased accounts
 * (forgetStripeCustomer, recordStripeCustomer queue them). Per batch: one claim, one Stripe call
 * per customer, then one transaction recording every outcome (done rows, their audit rows, the
 * failures' backoff). Run by StripeCancelOutboxWorker, under its lock.
 */
@Injectable()
export class StripeCustomerDeletions {
  private readonly logger = new Logger(StripeCustomerDeletions.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly control: StripeBillingControl,
    private readonly audit: AuditService,
  ) {}

  /** Works the due rows, batch after batch, until none is due or `stopping()` (the rows not tried come back when their lease ends). */
  async drain(now: Date, stopping: () => boolean): Promise<CustomerDeletionResult> {
    const result: CustomerDeletionResult = { deleted: 0, already_deleted: 0, failed: 0 };
    for (let i = 0; i < MAX_BATCHES_PER_RUN && !stopping(); i++) {
      const rows = (await this.ds.query(CLAIM_SQL, [now, BATCH, STRIPE_OUTBOX_LEASE_SECONDS])) as DueRow[];
      const done: Array<{ row: DueRow; outcome: 'deleted' | 'already_deleted' }> = [];
      const failed: Array<{ row: DueRow; code: string; retryIn: number }> = [];
      for (const row of rows) {
        if (stopping()) break;
        try {
          done.push({ row, outcome: (await this.control.deleteCustomer(row.stripe_customer_id)) ? 'deleted' : 'already_deleted' });
        } catch (err) {
          failed.push({ row, code: stripeOutboxErrorCode(err), retryIn: stripeOutboxRetrySeconds(row.attempts) });
        }
      }
      await this.record(now, done, failed);
      for (const d of done) result[d.outcome] += 1;
      result.failed += failed.length;
      if (rows.length < BATCH) break;
    }
    return result;
  }

  private async record(now: Date, done: Array<{ row: DueRow; outcome: 'deleted' | 'already_deleted' }>, failed: Array<{ row: DueRow; code: string; retryIn: number }>): Promise<void> {
    if (done.length + failed.length === 0) return;
    for (const f of failed) {
      // Ids and codes only: the customer's email and name are what is being deleted.
      this.logger.error({ stripe_customer_id: f.row.stripe_customer_id, attempts: f.row.attempts, code: f.code, retry_in_s: f.retryIn }, 'Stripe customer deletion failed; retrying later');
    }
    await this.ds.transaction(async (m) => {
      if (done.length > 0) {
        await m.query(DONE_SQL, [done.map((d) => d.row.stripe_customer_id), done.map((d) => d.outcome)]);
        const entries: AuditEntry[] = done.map(({ row, outcome }) => ({
          event_type: 'payment.stripe_customer_deleted',
          user_id: row.user_id,
          actor_id: null,
          data: { stripe_customer_id: row.stripe_customer_id, reason: row.reason, outcome, actor: 'system', job: 'stripe_cancel_outbox' },
        }));
        await this.audit.insertMany(entries, m);
      }
      if (failed.length > 0) {
        await m.query(RETRY_SQL, [
          failed.map((f) => f.row.stripe_customer_id),
          failed.map((f) => new Date(now.getTime() + f.retryIn * 1000)),
          failed.map((f) => f.code),
        ]);
      }
    });
  }
}
