import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import type { Channel } from './notification-outbox';

const BATCH = 50;
const MAX_BATCHES_PER_TICK = 20;
const LEASE_SECONDS = 120;
const MAX_ATTEMPTS = 8;
const BACKOFF_BASE_SECONDS = 30;

export interface OutboxRow {
  id: string;
  user_id: string;
  kind: string;
  data: Record<string, unknown>;
  attempts: number;
}

export interface DispatchResult {
  sent: number;
  failed: number;
}

/** A row that can never be sent (no recipient, channel not in the plan): failed at once, no retry. */
export class Undeliverable extends Error {}

/** Claims due rows of one channel (SKIP LOCKED) and leases them past the network calls in one statement. */
const CLAIM_SQL = `
  WITH due AS (
    SELECT id FROM notification_outbox
     WHERE status = 'pending' AND channel = $4 AND next_attempt_at <= $1
     ORDER BY next_attempt_at LIMIT $2
     FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE notification_outbox o SET attempts = o.attempts + 1, next_attempt_at = $1::timestamptz + $3::int * interval '1 second'
      FROM due WHERE o.id = due.id
    RETURNING o.id, o.user_id, o.kind, o.data, o.attempts
  )
  SELECT * FROM claimed`;

/**
 * Sends one channel of the notification outbox: a failure is retried with exponential backoff,
 * then marked failed; status, attempts and last_error stay on the row. The lease (next_attempt_at)
 * plus the advisory lock make each row one send across workers.
 */
export abstract class OutboxDispatcher<R> {
  protected readonly logger: Logger;
  protected readonly job: PeriodicJob;

  protected constructor(
    protected readonly ds: DataSource,
    registry: SchedulerRegistry,
    private readonly channel: Channel,
    lockKey: number,
  ) {
    this.logger = new Logger(this.constructor.name);
    this.job = new PeriodicJob(ds, registry, `${channel}-dispatch`, lockKey);
  }

  /** Where each user of the batch is reached (absent: nowhere). */
  protected abstract recipients(rows: OutboxRow[]): Promise<Map<string, R>>;
  /**
   * Where this row's user is reached now, read again right before its send (undefined: nowhere any
   * more): an erasure (or, for Telegram, a plan change) committed after the batch's read stops the
   * rows still to come. No lock is held across the network send (a login or an admin change of the
   * user would wait for a slow mail server); an erasure during a send lets that one message go.
   */
  protected abstract recipientNow(row: OutboxRow, batched: R): Promise<R | undefined>;
  protected abstract deliver(row: OutboxRow, to: R): Promise<void>;

  async tick(now: Date = new Date()): Promise<DispatchResult | null> {
    try {
      return await this.job.exclusive(() => this.drain(now));
    } catch (err) {
      this.logger.error({ err }, `${this.channel} dispatch failed`);
      return null;
    }
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  private async drain(now: Date): Promise<DispatchResult> {
    const result: DispatchResult = { sent: 0, failed: 0 };
    for (let i = 0; i < MAX_BATCHES_PER_TICK && !this.job.stopping; i++) {
      const rows = (await this.ds.query(CLAIM_SQL, [now, BATCH, LEASE_SECONDS, this.channel])) as OutboxRow[];
      const to = rows.length > 0 ? await this.recipients(rows) : new Map<string, R>();
      for (const [k, row] of rows.entries()) {
        if (this.job.stopping) {
          // Shutting down: the rows not tried are handed back at once (not held for the lease).
          await this.unclaim(rows.slice(k));
          return result;
        }
        result[(await this.sendOne(row, to.get(row.user_id), now)) ? 'sent' : 'failed'] += 1;
      }
      if (rows.length < BATCH) break;
    }
    return result;
  }

  private async unclaim(rows: OutboxRow[]): Promise<void> {
    await this.ds.query(`UPDATE notification_outbox SET attempts = attempts - 1, next_attempt_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [rows.map((r) => r.id)]);
  }

  private async sendOne(row: OutboxRow, batched: R | undefined, now: Date): Promise<boolean> {
    try {
      const to = batched === undefined ? undefined : await this.recipientNow(row, batched);
      if (to === undefined) throw new Undeliverable('no_recipient');
      await this.deliver(row, to);
      await this.ds.query(`UPDATE notification_outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1`, [row.id]);
      return true;
    } catch (err) {
      const message = (err instanceof Error ? err.message : 'unknown').slice(0, 255);
      const final = err instanceof Undeliverable || row.attempts >= MAX_ATTEMPTS;
      const delay = BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1);
      this.logger.warn({ id: row.id, kind: row.kind, attempts: row.attempts, final, error: message }, `${this.channel} notification not sent`);
      await this.ds.query(`UPDATE notification_outbox SET status = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1`, [
        row.id,
        final ? 'failed' : 'pending',
        new Date(now.getTime() + delay * 1000),
        message,
      ]);
      return false;
    }
  }
}
