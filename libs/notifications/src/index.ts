export * from './notifications.module';
export * from './notification-outbox';
export * from './mail-config';
export * from './mailer';
export * from './email-dispatcher';
export * from './email-templates';
export * from './notifications-config';
export * from './events/user-event-feed';
