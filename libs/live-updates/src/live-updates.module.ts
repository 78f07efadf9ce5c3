import { Module } from '@nestjs/common';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { PaymentsModule } from '@torgovo/payments';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { NotificationsModule } from '@torgovo/notifications';
import { LiveSnapshots } from './live-snapshots';
import { LiveUpdatesGateway } from './live-updates.gateway';

/**
 * The WebSocket of live updates (api processes only). A lib of its own, above the others: it reads
 * the owning libs' services (orders, bots, subscriptions, payments) to show each event's resource,
 * and payments itself uses libs/notifications, where the user-event feed lives.
 */
@Module({
  imports: [NotificationsModule, UsersModule, TradingModule, CustomBotsModule, SubscriptionsModule, PaymentsModule],
  providers: [LiveSnapshots, LiveUpdatesGateway],
  exports: [LiveUpdatesGateway],
})
export class LiveUpdatesModule {}
