import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { NotificationItem, NotificationOutbox } from '../notification-outbox';
import { NotificationsConfig } from '../notifications-config';
import { notificationFor } from './event-notifications';
import { UserEventFeed } from './user-event-feed';

export const NOTIFICATION_FANOUT_LOCK_KEY = 7_204_620;
const CONSUMER = 'notifications';
const BATCH = 500;
const MAX_BATCHES_PER_TICK = 20;

/**
 * Turns the user-event feed into notification outbox rows: per batch, in one transaction, read the
 * events after this consumer's place (row-locked: a second worker waits, then starts after), one
 * INSERT of the notifications (preferences and channels applied there) and the new place. Sending
 * is the dispatchers' job, so nothing here waits on SMTP or Telegram — nor on trading.
 */
@Injectable()
export class NotificationFanout implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NotificationFanout.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly feed: UserEventFeed,
    private readonly outbox: NotificationOutbox,
    @Inject(NotificationsConfig) private readonly config: NotificationsConfig,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, 'notification-fanout', NOTIFICATION_FANOUT_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config.NOTIFICATION_FANOUT_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Events read and notifications written; null when another run holds the job. */
  async tick(): Promise<{ events: number; enqueued: number } | null> {
    try {
      return await this.job.exclusive(() => this.drain());
    } catch (err) {
      this.logger.error({ err }, 'Notification fan-out failed');
      return null;
    }
  }

  private async drain(): Promise<{ events: number; enqueued: number }> {
    const total = { events: 0, enqueued: 0 };
    for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
      const n = await this.ds.transaction(async (m) => {
        await m.query(`INSERT INTO user_event_consumers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [CONSUMER]);
        const [place] = (await m.query(`SELECT xid::text AS xid, id::text AS id FROM user_event_consumers WHERE name = $1 FOR UPDATE`, [CONSUMER])) as Array<{
          xid: string;
          id: string;
        }>;
        const events = await this.feed.after({ xid: BigInt(place.xid), id: BigInt(place.id) }, BATCH, undefined, m);
        if (events.length === 0) return 0;
        const items = events.map(notificationFor).filter((x): x is NotificationItem => x !== null);
        total.enqueued += await this.outbox.enqueue(m, items);
        const last = events[events.length - 1].cursor;
        await m.query(`UPDATE user_event_consumers SET xid = $2::xid8, id = $3, updated_at = now() WHERE name = $1`, [CONSUMER, last.xid.toString(), last.id.toString()]);
        return events.length;
      });
      total.events += n;
      if (n < BATCH) break;
    }
    return total;
  }
}
