import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { renderEmail } from './email-templates';
import { MailConfig } from './mail-config';
import { Mailer } from './mailer';

export const EMAIL_DISPATCH_LOCK_KEY = 7_204_610;
const INTERVAL_NAME = 'email-dispatch';
const BATCH = 50;
const MAX_BATCHES_PER_TICK = 20;
const LEASE_SECONDS = 120;
const MAX_ATTEMPTS = 8;
const BACKOFF_BASE_SECONDS = 30;

interface OutboxRow {
  id: string;
  kind: string;
  data: Record<string, unknown>;
  attempts: number;
  email: string | null;
  full_name: string | null;
}

/** Claims due rows (SKIP LOCKED) and leases them past the SMTP calls in one statement. */
const CLAIM_SQL = `
  WITH due AS (
    SELECT id FROM notification_outbox
     WHERE status = 'pending' AND channel = 'email' AND next_attempt_at <= $1
     ORDER BY next_attempt_at LIMIT $2
     FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE notification_outbox o SET attempts = o.attempts + 1, next_attempt_at = $1::timestamptz + $3::int * interval '1 second'
      FROM due WHERE o.id = due.id
    RETURNING o.id, o.user_id, o.kind, o.data, o.attempts
  )
  SELECT c.id, c.kind, c.data, c.attempts, u.email, u.full_name FROM claimed c LEFT JOIN users u ON u.id = c.user_id`;

export interface EmailDispatchResult {
  sent: number;
  failed: number;
}

/** Sends the e-mails of the notification outbox; a failure is retried with backoff, then marked failed. */
@Injectable()
export class EmailDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EmailDispatcher.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(MailConfig) private readonly config: MailConfig,
    private readonly mailer: Mailer,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, INTERVAL_NAME, EMAIL_DISPATCH_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.EMAIL_DISPATCH_INTERVAL_SECONDS;
    if (this.job.start(seconds * 1000, () => this.tick())) this.logger.log({ seconds, smtp: this.mailer.smtp }, 'E-mail dispatch scheduled');
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  async tick(now: Date = new Date()): Promise<EmailDispatchResult | null> {
    try {
      return await this.job.exclusive(() => this.drain(now));
    } catch (err) {
      this.logger.error({ err }, 'E-mail dispatch failed');
      return null;
    }
  }

  private async drain(now: Date): Promise<EmailDispatchResult> {
    const result: EmailDispatchResult = { sent: 0, failed: 0 };
    for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
      const rows = (await this.ds.query(CLAIM_SQL, [now, BATCH, LEASE_SECONDS])) as OutboxRow[];
      for (const row of rows) result[(await this.sendOne(row, now)) ? 'sent' : 'failed'] += 1;
      if (rows.length < BATCH) break;
    }
    return result;
  }

  private async sendOne(row: OutboxRow, now: Date): Promise<boolean> {
    if (!row.email) {
      // The user was erased: nothing to send to, ever.
      await this.ds.query(`UPDATE notification_outbox SET status = 'failed', last_error = 'no_recipient' WHERE id = $1`, [row.id]);
      return false;
    }
    try {
      const mail = renderEmail(row.kind, row.data, row.full_name ?? '');
      await this.mailer.send({ to: row.email, ...mail });
      await this.ds.query(`UPDATE notification_outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1`, [row.id]);
      return true;
    } catch (err) {
      const message = (err instanceof Error ? err.message : 'unknown').slice(0, 255);
      const final = row.attempts >= MAX_ATTEMPTS;
      const delay = BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1);
      this.logger.warn({ id: row.id, kind: row.kind, attempts: row.attempts, final }, 'E-mail not sent');
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
