import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { renderEmail } from '../email-templates';
import { NotificationsConfig } from '../notifications-config';
import { OutboxDispatcher, OutboxRow, Undeliverable } from '../outbox-dispatcher';
import { TelegramAccess } from './telegram-access';
import { TelegramClient } from './telegram-client';

export const TELEGRAM_DISPATCH_LOCK_KEY = 7_204_622;

/**
 * Sends the Telegram rows of the outbox to each user's linked chat. Whether the plan includes
 * Telegram is checked here, at the moment of sending: a plan that lost it fails the row
 * (plan_excludes_telegram), never retried.
 */
@Injectable()
export class TelegramDispatcher extends OutboxDispatcher<string> implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(NotificationsConfig) private readonly config: NotificationsConfig,
    private readonly telegram: TelegramClient,
    private readonly access: TelegramAccess,
    registry: SchedulerRegistry,
  ) {
    super(ds, registry, 'telegram', TELEGRAM_DISPATCH_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    if (this.telegram.enabled) this.job.start(this.config.TELEGRAM_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  protected async recipients(rows: OutboxRow[]): Promise<Map<string, string>> {
    const users = [...new Set(rows.map((r) => r.user_id))];
    const allowed = await this.access.allowed(users);
    const chats = (await this.ds.query(`SELECT l.user_id, l.chat_id::text AS chat_id FROM telegram_links l JOIN users u ON u.id = l.user_id AND u.erased_at IS NULL
       WHERE l.user_id = ANY($1::uuid[]) AND l.chat_id IS NOT NULL`, [
      users,
    ])) as Array<{ user_id: string; chat_id: string }>;
    return new Map(chats.map((c) => [c.user_id, allowed.has(c.user_id) ? c.chat_id : '']));
  }

  /** The chat (an erasure deletes the link) and the plan read again at the send. */
  protected async recipientNow(row: OutboxRow): Promise<string | undefined> {
    const [link] = (await this.ds.query(
      `SELECT l.chat_id::text AS chat_id FROM users u JOIN telegram_links l ON l.user_id = u.id
        WHERE u.id = $1 AND u.erased_at IS NULL AND l.chat_id IS NOT NULL`,
      [row.user_id],
    )) as Array<{ chat_id: string }>;
    if (!link) return undefined;
    return (await this.access.includes(row.user_id)) ? link.chat_id : '';
  }

  protected async deliver(row: OutboxRow, chatId: string): Promise<void> {
    if (!this.telegram.enabled) throw new Error('telegram_not_configured');
    if (chatId === '') throw new Undeliverable('plan_excludes_telegram');
    const m = renderEmail(row.kind, row.data, '');
    await this.telegram.sendMessage(chatId, `${m.subject}\n\n${m.text.replace(/^Hello there,\n\n/, '')}`);
  }
}
