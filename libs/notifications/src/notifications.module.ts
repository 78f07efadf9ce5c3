import { Module } from '@nestjs/common';
import { MailConfig } from './mail-config';
import { Mailer } from './mailer';
import { NotificationOutbox } from './notification-outbox';
import { notificationOutboxRetention } from './notification-retention';

/**
 * E-mail notifications: NotificationOutbox is how other libs ask for one (inside their
 * transaction); the EmailDispatcher job that sends them is registered by the host's
 * WorkerJobsModule with the other jobs.
 */
@Module({
  providers: [{ provide: MailConfig, useFactory: () => MailConfig.fromEnv(process.env) }, Mailer, NotificationOutbox, notificationOutboxRetention],
  exports: [MailConfig, Mailer, NotificationOutbox],
})
export class NotificationsModule {}
