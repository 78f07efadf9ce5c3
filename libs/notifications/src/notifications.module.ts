import { Module } from '@nestjs/common';
import { userEventsRetention } from './events/user-event-retention';
import { UserEventFeed } from './events/user-event-feed';
import { MailConfig } from './mail-config';
import { Mailer } from './mailer';
import { NotificationOutbox } from './notification-outbox';
import { notificationOutboxRetention } from './notification-retention';
import { NotificationsConfig } from './notifications-config';

/**
 * E-mail notifications: NotificationOutbox is how other libs ask for one (inside their
 * transaction); the EmailDispatcher job that sends them is registered by the host's
 * WorkerJobsModule with the other jobs. UserEventFeed reads the per-user event feed the
 * database triggers write (live updates and the notification fan-out read it).
 */
@Module({
  providers: [
    { provide: MailConfig, useFactory: () => MailConfig.fromEnv(process.env) },
    { provide: NotificationsConfig, useFactory: () => NotificationsConfig.fromEnv(process.env) },
    Mailer,
    NotificationOutbox,
    UserEventFeed,
    notificationOutboxRetention,
    userEventsRetention,
  ],
  exports: [MailConfig, NotificationsConfig, Mailer, NotificationOutbox, UserEventFeed],
})
export class NotificationsModule {}
