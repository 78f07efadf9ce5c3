import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { UsersModule } from '@torgovo/users';
import { BotUserListener } from './bot-user.listener';
import { BotPlacementStates } from './bot-placement-state';
import { BotExpiryListener } from './bot-expiry.listener';
import { BotsController } from './bots.controller';
import { BotPerformanceController } from './bot-performance.controller';
import { BotPerformanceService } from './bot-performance.service';
import { BotsService } from './bots.service';
import { BotWebhook } from './entities/bot-webhook.entity';
import { Bot } from './entities/bot.entity';
import { WebhookEvent } from './entities/webhook-event.entity';
import { MarketCatalog } from './market-catalog.service';
import { WebhookBodyHooks } from './webhook-body.hooks';
import { WebhookBusySignal } from './webhook-busy-signal';
import { WebhookConfig } from './webhook-config';
import { WebhookIntake } from './webhook-intake';
import { WebhookTargets } from './webhook-targets';
import { WebhookEventLog } from './webhook-event-log';
import { WebhookReceiveController } from './webhook-receive.controller';
import { WebhookReceiveRoute } from './webhook-receive.route';
import { WebhookReceiveService } from './webhook-receive.service';
import { webhookRetention } from './webhook-retention';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Custom bots and their TradingView webhooks. Import it in the api (routes) and in the worker
 * (so subscription expiry stops bots: BotExpiryListener registers with SubscriptionHooks), and
 * BotUserListener stops bots when the user disconnects their exchange or is deactivated;
 * BotPlacementStates tells the executor's placement rule whether a bot still runs.
 * TradingModule is global (OrdersService, ExchangeGatewayFactory).
 */
@Module({
  imports: [SubscriptionsModule, UsersModule, TypeOrmModule.forFeature([Bot, BotWebhook, WebhookEvent])],
  controllers: [BotsController, BotPerformanceController, WebhooksController, WebhookReceiveController],
  providers: [
    { provide: WebhookConfig, useFactory: () => WebhookConfig.fromEnv(process.env) },
    BotsService,
    BotPerformanceService,
    WebhooksService,
    WebhookReceiveService,
    WebhookReceiveRoute,
    WebhookBusySignal,
    WebhookEventLog,
    WebhookTargets,
    WebhookIntake,
    MarketCatalog,
    WebhookBodyHooks,
    BotExpiryListener,
    BotUserListener,
    BotPlacementStates,
    ...webhookRetention,
  ],
  exports: [BotsService, WebhooksService, WebhookReceiveService, WebhookReceiveRoute, MarketCatalog, BotExpiryListener],
})
export class CustomBotsModule {}
