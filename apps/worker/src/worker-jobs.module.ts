import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { heartbeatRetention, RetentionSweeper, WorkerHeartbeat } from '@torgovo/core';
import { ManagedBotsJobsModule } from '@torgovo/managed-bots';
import { EmailDispatcher, ExpiryNotices, NotificationFanout, NotificationsModule, TelegramDispatcher, TelegramLinkPoller } from '@torgovo/notifications';
import { PaymentChecker, PaymentRevenueCompactionJob, PaymentsModule, StripeCancelOutboxWorker } from '@torgovo/payments';
import { BillingSchedulerModule } from '@torgovo/subscriptions';
import { OrderControlModule, OrderStatsRollupJob, PnlDayRollupJob, TradingManagerModule } from '@torgovo/trading';
import { SecretResealJob, UsersModule } from '@torgovo/users';

/**
 * Everything that runs on a schedule: the worker process imports it, and so does the api
 * process when WORKER_ENABLED (the embedded default). Each job claims its work in
 * PostgreSQL (advisory locks, SKIP LOCKED), so any number of copies can run.
 * TradingManagerModule executes orders (TradingModule itself is imported by the host);
 * PaymentsModule gives the billing scheduler its renewal requester and queues the Stripe
 * subscriptions of the card subscriptions it ends; StripeCancelOutboxWorker cancels them at
 * Stripe after the sweep's commit, and deletes the Stripe customers of erased accounts. PaymentChecker matches crypto deposits and expires unpaid crypto
 * payments; EmailDispatcher sends the notification e-mails. RetentionSweeper deletes old operational rows through the
 * policies the libs register with RetentionRegistry. OrderStatsRollupJob extends the daily order
 * rollup behind the admin's figures, PnlDayRollupJob their PnL by day; PaymentRevenueCompactionJob folds the revenue changes into months.
 * NotificationFanout turns the user-event feed into notifications, ExpiryNotices tells of subscriptions ending in 3 days,
 * TelegramDispatcher and TelegramLinkPoller are the Telegram channel. ManagedBotsJobsModule recomputes
 * followers' performance, fires portfolio stop-losses and settles the monthly profit share.
 * SecretResealJob moves stored exchange secrets still under an old ENCRYPTION_KEY to the current one.
 */
@Module({
  // OrderControlModule: the user's cancels on the exchange and the order watchdog (health flag).
  imports: [ScheduleModule.forRoot(), UsersModule, TradingManagerModule, PaymentsModule, BillingSchedulerModule, OrderControlModule, NotificationsModule, ManagedBotsJobsModule],
  providers: [
    WorkerHeartbeat,
    heartbeatRetention,
    RetentionSweeper,
    StripeCancelOutboxWorker,
    PaymentChecker,
    EmailDispatcher,
    OrderStatsRollupJob,
    PaymentRevenueCompactionJob,
    PnlDayRollupJob,
    NotificationFanout,
    ExpiryNotices,
    TelegramDispatcher,
    TelegramLinkPoller,
    SecretResealJob,
  ],
})
export class WorkerJobsModule {}
