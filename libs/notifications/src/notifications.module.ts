import { Module } from '@nestjs/common';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { userEventsRetention } from './events/user-event-retention';
import { UserEventFeed } from './events/user-event-feed';
import { MailConfig } from './mail-config';
import { Mailer } from './mailer';
import { NotificationOutbox } from './notification-outbox';
import { NotificationPreferencesService } from './notification-preferences.service';
import { notificationOutboxRetention } from './notification-retention';
import { NotificationsConfig } from './notifications-config';
import { NotificationsController } from './notifications.controller';
import { TelegramAccess } from './telegram/telegram-access';
import { TelegramClient } from './telegram/telegram-client';
import { TelegramLinks } from './telegram/telegram-links';
import { TelegramLinkUserListener } from './telegram/telegram-link-user.listener';

/**
 * Notifications: NotificationOutbox is how other libs ask for one (inside their transaction);
 * UserEventFeed reads the per-user event feed the database triggers write (live updates and the
 * notification fan-out read it); the preferences and Telegram-link endpoints. The jobs that
 * fan out and send (NotificationFanout, ExpiryNotices, EmailDispatcher, TelegramDispatcher,
 * TelegramLinkPoller) are registered by the host's WorkerJobsModule with the other jobs.
 * TelegramLinkUserListener voids a pending link code when the account is deactivated (every host
 * that deactivates users loads this module: the api, and the CLI for deactivate-user).
 */
@Module({
  imports: [SubscriptionsModule],
  controllers: [NotificationsController],
  providers: [
    { provide: MailConfig, useFactory: () => MailConfig.fromEnv(process.env) },
    { provide: NotificationsConfig, useFactory: () => NotificationsConfig.fromEnv(process.env) },
    Mailer,
    NotificationOutbox,
    UserEventFeed,
    TelegramClient,
    TelegramAccess,
    TelegramLinks,
    TelegramLinkUserListener,
    NotificationPreferencesService,
    notificationOutboxRetention,
    userEventsRetention,
  ],
  exports: [MailConfig, NotificationsConfig, Mailer, NotificationOutbox, UserEventFeed, TelegramClient, TelegramAccess, TelegramLinks],
})
export class NotificationsModule {}
