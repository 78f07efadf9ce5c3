import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, PeriodicJob } from '@torgovo/core';
import { StripeBillingControl } from './stripe-billing-control';
import { StripeCancelOutboxConfig } from './stripe-cancel-outbox.config';
import { CustomerDeletionResult, StripeCustomerDeletions } from './stripe-customer-deletions';
import { StripeGateway } from './stripe-gateway';
import { STRIPE_OUTBOX_LEASE_SECONDS, stripeOutboxErrorCode, stripeOutboxRetrySeconds } from './stripe-outbox-timing';

/** pg_try_advisory_lock key of the outbox job: one replica works it per tick. */
export const STRIPE_CANCEL_OUTBOX_LOCK_KEY = 7_204_302;
const INTERVAL_NAME = 'stripe-cancel-outbox';
/** Rows claimed per statement: each costs one or two Stripe calls. */
const BATCH = 20;
const MAX_BATCHES_PER_TICK = 50;

export interface StripeCancelOutboxResult {
  cancelled: number;
  /** Already ended at Stripe (or unknown there): nothing to cancel. */
  skipped: number;
  failed: number;
  /** The second queue: erased accounts' Stripe customers. */
  customers: CustomerDeletionResult;
}

interface OutboxRow {
  stripe_subscription_id: string;
  subscription_id: string;
  reason: string;
  attempts: number;
  user_id: string | null;
}

/**
 * Claims due rows (SKIP LOCKED) and leases them by moving next_attempt_at past the Stripe calls,
 * in one short statement: no transaction stays open while Stripe answers.
 */
const CLAIM_SQL = `
  WITH due AS (
    SELECT stripe_subscription_id FROM stripe_cancel_outbox
     WHERE done_at IS NULL AND next_attempt_at <= $1
     ORDER BY next_attempt_at
     LIMIT $2
     FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE stripe_cancel_outbox o
       SET attempts = o.attempts + 1, next_attempt_at = $1::timestamptz + $3::int * interval '1 second'
      FROM due
     WHERE o.stripe_subscription_id = due.stripe_subscription_id
    RETURNING o.stripe_subscription_id, o.subscription_id, o.reason, o.attempts
  )
  SELECT c.*, l.user_id FROM claimed c LEFT JOIN stripe_subscriptions l ON l.stripe_subscription_id = c.stripe_subscription_id`;

/**
 * The Stripe outbox: what our side owes Stripe after a commit, so that the change never waits on
 * Stripe. Cancels at Stripe the subscriptions StripeObligations.onSubscriptionsEnded queued when our
 * side ended them (with an idempotency key), then deletes the Stripe customers of erased accounts
 * (StripeCustomerDeletions). Failures retry with a doubling backoff. The timer only triggers.
 */
@Injectable()
export class StripeCancelOutboxWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(StripeCancelOutboxWorker.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(StripeCancelOutboxConfig) private readonly config: StripeCancelOutboxConfig,
    private readonly gateway: StripeGateway,
    private readonly control: StripeBillingControl,
    private readonly audit: AuditService,
    private readonly customers: StripeCustomerDeletions,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, INTERVAL_NAME, STRIPE_CANCEL_OUTBOX_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const seconds = this.gateway.enabled ? this.config.STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS : 0;
    if (this.job.start(seconds * 1000, () => this.tick())) this.logger.log({ seconds }, 'Stripe cancellation outbox scheduled');
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** One pass over the due rows, or null when Stripe is off or another replica holds the lock. Never throws. */
  async tick(now: Date = new Date()): Promise<StripeCancelOutboxResult | null> {
    if (!this.gateway.enabled) return null;
    try {
      const r = await this.job.exclusive(() => this.drain(now));
      if (r && r.cancelled + r.skipped + r.failed + r.customers.deleted + r.customers.already_deleted + r.customers.failed > 0) {
        this.logger.log(r, 'Stripe cancellation outbox done');
      }
      return r;
    } catch (err) {
      // The database was unreachable: claimed rows come back when their lease ends.
      this.logger.error({ err }, 'Stripe cancellation outbox failed');
      return null;
    }
  }

  private async drain(now: Date): Promise<StripeCancelOutboxResult> {
    const counts = await this.drainCancellations(now);
    const customers = await this.customers.drain(now, () => this.job.stopping);
    return { ...counts, customers };
  }

  private async drainCancellations(now: Date): Promise<Omit<StripeCancelOutboxResult, 'customers'>> {
    const result = { cancelled: 0, skipped: 0, failed: 0 };
    // Shutting down (job stopping): ends after the call under way; the rows not tried come back when their lease ends.
    for (let i = 0; i < MAX_BATCHES_PER_TICK && !this.job.stopping; i++) {
      const rows = (await this.ds.query(CLAIM_SQL, [now, BATCH, STRIPE_OUTBOX_LEASE_SECONDS])) as OutboxRow[];
      for (const row of rows) {
        if (this.job.stopping) return result;
        result[await this.cancelOne(row, now)] += 1;
      }
      if (rows.length < BATCH) break;
    }
    return result;
  }

  private async cancelOne(row: OutboxRow, now: Date): Promise<'cancelled' | 'skipped' | 'failed'> {
    try {
      const cancelled = await this.control.cancel(row.stripe_subscription_id, `cancel-ended-${row.subscription_id}`);
      await this.ds.transaction(async (m) => {
        await m.query('UPDATE stripe_cancel_outbox SET done_at = now(), last_error = NULL WHERE stripe_subscription_id = $1', [row.stripe_subscription_id]);
        if (cancelled) {
          await this.audit.record(
            {
              event_type: 'payment.stripe_cancelled',
              user_id: row.user_id,
              actor_id: null,
              data: { subscription_id: row.subscription_id, stripe_subscription_id: row.stripe_subscription_id, reason: row.reason, actor: 'system', job: 'stripe_cancel_outbox' },
            },
            m,
          );
        }
      });
      return cancelled ? 'cancelled' : 'skipped';
    } catch (err) {
      const code = stripeOutboxErrorCode(err);
      const delay = stripeOutboxRetrySeconds(row.attempts);
      this.logger.error({ stripe_subscription_id: row.stripe_subscription_id, attempts: row.attempts, code, retry_in_s: delay }, 'Stripe cancellation failed; retrying later');
      await this.ds.query('UPDATE stripe_cancel_outbox SET next_attempt_at = $2, last_error = $3 WHERE stripe_subscription_id = $1', [
        row.stripe_subscription_id,
        new Date(now.getTime() + delay * 1000),
        code,
      ]);
      return 'failed';
    }
  }
}
