import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { NotificationsConfig } from '../notifications-config';
import { TelegramClient } from './telegram-client';
import { TelegramLinks } from './telegram-links';

export const TELEGRAM_POLL_LOCK_KEY = 7_204_623;

/**
 * Learns linked chats with getUpdates, not a webhook: it needs no public HTTPS endpoint (a Bot API
 * webhook must be one, on 443/80/88/8443), so it works in development, behind NAT and in tests,
 * and one worker at a time (advisory lock) polls from the stored offset, so no update is handled twice.
 */
@Injectable()
export class TelegramLinkPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TelegramLinkPoller.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly telegram: TelegramClient,
    private readonly links: TelegramLinks,
    @Inject(NotificationsConfig) private readonly config: NotificationsConfig,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, 'telegram-link-poll', TELEGRAM_POLL_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    if (this.telegram.enabled) this.job.start(this.config.TELEGRAM_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Chats linked in this pass; null when another worker polls or Telegram failed (next tick retries). */
  async tick(): Promise<number | null> {
    if (!this.telegram.enabled) return null;
    try {
      return await this.job.exclusive(async () => {
        const [state] = (await this.ds.query(`SELECT next_update_id::text AS next FROM telegram_poll_state WHERE id = 1`)) as Array<{ next: string }>;
        const updates = await this.telegram.getUpdates(Number(state.next));
        if (updates.length === 0) return 0;
        const linked = await this.links.bind(updates);
        await this.ds.query(`UPDATE telegram_poll_state SET next_update_id = $1 WHERE id = 1`, [Math.max(...updates.map((u) => u.update_id)) + 1]);
        // A courtesy reply; the link holds whether or not it arrives.
        await Promise.all(
          linked.map((l) => this.telegram.sendMessage(l.chat_id, 'Linked: Torgovo notifications will arrive in this chat.').catch(() => undefined)),
        );
        return linked.length;
      });
    } catch (err) {
      this.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'Telegram getUpdates failed');
      return null;
    }
  }
}
