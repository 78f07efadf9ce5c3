import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { UsersModule } from '@torgovo/users';
import { ManagedBotFollow } from './entities/managed-bot-follow.entity';
import { ManagedBot } from './entities/managed-bot.entity';
import { FollowClosingPrices } from './closing-prices';
import { FollowBooks } from './follow-books';
import { FollowPlacementStates } from './follow-placement-state';
import { FollowerPerformanceService } from './follower-performance.service';
import { FollowerReportsService } from './follower-reports.service';
import { FollowsService } from './follows.service';
import { FollowUserListener } from './follow-user.listener';
import { ManagedBotController } from './managed-bot.controller';
import { ManagedBotsAdminController } from './managed-bots-admin.controller';
import { ManagedBotsJob } from './managed-bots.job';
import { ManagedBotsService } from './managed-bots.service';
import { ManagedWebhookConfig, ManagedWebhookLimits } from './managed-webhook-limits';
import { ProfitShareSettlementService } from './profit-share-settlement.service';
import { SignalFanoutService } from './signal-fanout.service';
import { ManagedSignalConfig } from './signal-repeat';

const services = [FollowBooks, FollowClosingPrices, ManagedBotsService, FollowsService, FollowerPerformanceService, FollowerReportsService, ProfitShareSettlementService, SignalFanoutService, FollowPlacementStates];

/**
 * Managed bots (copy trading). Import it in the api (routes) and in the worker, where
 * FollowPlacementStates tells the executor's placement rule whether a follower's order may still go
 * (it registers with trading's OrderOwners). TradingModule is global (OrdersService, the gateways,
 * the FIFO PerformanceEngine).
 */
@Module({
  imports: [SubscriptionsModule, UsersModule, TypeOrmModule.forFeature([ManagedBot, ManagedBotFollow])],
  controllers: [ManagedBotController, ManagedBotsAdminController],
  // FollowUserListener ends a deactivated or erased user's follows (UserHooks).
  providers: [
    ...services,
    FollowUserListener,
    ManagedWebhookLimits,
    { provide: ManagedWebhookConfig, useFactory: () => ManagedWebhookConfig.fromEnv(process.env) },
    { provide: ManagedSignalConfig, useFactory: () => ManagedSignalConfig.fromEnv(process.env) },
  ],
  exports: services,
})
export class ManagedBotsModule {}

/** The scheduled part (recompute, stop-loss, monthly settlement): imported by WorkerJobsModule. */
@Module({
  imports: [ManagedBotsModule],
  providers: [ManagedBotsJob],
  exports: [ManagedBotsJob],
})
export class ManagedBotsJobsModule {}
