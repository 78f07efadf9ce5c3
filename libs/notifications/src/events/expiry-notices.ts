import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { ENDING_SOON_SQL } from '@torgovo/subscriptions';
import { NotificationOutbox } from '../notification-outbox';
import { NotificationsConfig } from '../notifications-config';

export const EXPIRY_NOTICE_LOCK_KEY = 7_204_621;
const NOTICE_DAYS = 3;

/**
 * "Your subscription ends in 3 days": one SELECT of the subscriptions ending (not renewing) within
 * the window, one INSERT of their notices. The dedupe key names the subscription and its end date,
 * so each period is told once however many ticks or workers see it; a renewed period is a new key.
 */
@Injectable()
export class ExpiryNotices implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ExpiryNotices.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly outbox: NotificationOutbox,
    @Inject(NotificationsConfig) private readonly config: NotificationsConfig,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, 'expiry-notices', EXPIRY_NOTICE_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config.EXPIRY_NOTICE_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  async tick(now: Date = new Date()): Promise<number | null> {
    try {
      return await this.job.exclusive(() => this.run(now));
    } catch (err) {
      this.logger.error({ err }, 'Expiry notices failed');
      return null;
    }
  }

  /** Without the lock: what two workers racing would do (the dedupe key keeps it to one notice). */
  run(now: Date): Promise<number> {
    return this.ds.transaction(async (m) => {
      const until = new Date(now.getTime() + NOTICE_DAYS * 86_400_000);
      const rows = (await m.query(ENDING_SOON_SQL, [now, until])) as Array<{ user_id: string; subscription_id: string; end_date: Date; plan_name: string }>;
      return this.outbox.enqueue(
        m,
        rows.map((r) => ({
          user_id: r.user_id,
          kind: 'subscription_expiring',
          dedupe_key: `subscription_expiring:${r.subscription_id}:${r.end_date.toISOString()}`,
          data: { subscription_id: r.subscription_id, plan_name: r.plan_name, end_date: r.end_date.toISOString() },
        })),
      );
    });
  }
}
