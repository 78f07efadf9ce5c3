import { Module } from '@nestjs/common';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { UsersModule } from '@torgovo/users';
import { IngestYield } from './ingest-yield';
import { LiveReadBacks } from './live-read-backs';
import { OpenOrdersSync } from './open-orders-sync';
import { OrderBatchExecutor } from './order-batch-executor';
import { OrderClaimer } from './order-claimer';
import { OrderExecutor } from './order-executor';
import { OrderNotifyListener } from './order-notify-listener';
import { OrderGateways } from './order-gateways';
import { OrderTransitions } from './order-transitions';
import { PlacementBatchDecider } from './placement-batch-decider';
import { PlacementDecider } from './placement-decider';
import { TradingManager } from './trading-manager';
import { TradingManagerConfig } from './trading-manager.config';

/**
 * The worker's part of trading (imported by WorkerJobsModule). Needs the global TradingModule
 * (ExchangeGatewayFactory, OrderOwners), UsersModule (credentials, decrypted at the moment of use;
 * users' state) and SubscriptionsModule (who keeps access): the placement rule reads them.
 */
@Module({
  imports: [UsersModule, SubscriptionsModule],
  providers: [
    { provide: TradingManagerConfig, useFactory: () => TradingManagerConfig.fromEnv(process.env) },
    OrderClaimer,
    OrderTransitions,
    OrderGateways,
    OrderExecutor,
    PlacementDecider,
    PlacementBatchDecider,
    OrderBatchExecutor,
    LiveReadBacks,
    IngestYield,
    OpenOrdersSync,
    OrderNotifyListener,
    TradingManager,
  ],
  exports: [TradingManager, TradingManagerConfig, OrderNotifyListener, LiveReadBacks, IngestYield],
})
export class TradingManagerModule {}
