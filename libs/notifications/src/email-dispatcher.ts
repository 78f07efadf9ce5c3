import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { renderEmail } from './email-templates';
import { MailConfig } from './mail-config';
import { Mailer } from './mailer';
import { DispatchResult, OutboxDispatcher, OutboxRow } from './outbox-dispatcher';

export const EMAIL_DISPATCH_LOCK_KEY = 7_204_610;

export type EmailDispatchResult = DispatchResult;

/** Sends the e-mails of the notification outbox; a failure is retried with backoff, then marked failed. */
@Injectable()
export class EmailDispatcher extends OutboxDispatcher<{ email: string; full_name: string }> implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(MailConfig) private readonly config: MailConfig,
    private readonly mailer: Mailer,
    registry: SchedulerRegistry,
  ) {
    super(ds, registry, 'email', EMAIL_DISPATCH_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.EMAIL_DISPATCH_INTERVAL_SECONDS;
    if (this.job.start(seconds * 1000, () => this.tick())) this.logger.log({ seconds, smtp: this.mailer.smtp }, 'E-mail dispatch scheduled');
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  /** An erased user has no e-mail (the erasure left a placeholder address): their rows fail as no_recipient. */
  protected async recipients(rows: OutboxRow[]): Promise<Map<string, { email: string; full_name: string }>> {
    const users = (await this.ds.query(`SELECT id, email, full_name FROM users WHERE id = ANY($1::uuid[]) AND email IS NOT NULL AND erased_at IS NULL`, [
      [...new Set(rows.map((r) => r.user_id))],
    ])) as Array<{ id: string; email: string; full_name: string | null }>;
    return new Map(users.map((u) => [u.id, { email: u.email, full_name: u.full_name ?? '' }]));
  }

  protected async recipientNow(row: OutboxRow): Promise<{ email: string; full_name: string } | undefined> {
    const [u] = (await this.ds.query(`SELECT email, full_name FROM users WHERE id = $1 AND email IS NOT NULL AND erased_at IS NULL`, [row.user_id])) as Array<{
      email: string;
      full_name: string | null;
    }>;
    return u ? { email: u.email, full_name: u.full_name ?? '' } : undefined;
  }

  protected async deliver(row: OutboxRow, to: { email: string; full_name: string }): Promise<void> {
    await this.mailer.send({ to: to.email, ...renderEmail(row.kind, row.data, to.full_name) });
  }
}
