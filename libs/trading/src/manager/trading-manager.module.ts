import { Module } from '@nestjs/common';
import { UsersModule } from '@torgovo/users';
import { OpenOrdersSync } from './open-orders-sync';
import { OrderClaimer } from './order-claimer';
import { OrderExecutor } from './order-executor';
import { OrderNotifyListener } from './order-notify-listener';
import { OrderGateways } from './order-gateways';
import { OrderTransitions } from './order-transitions';
import { TradingManager } from './trading-manager';
import { TradingManagerConfig } from './trading-manager.config';

/**
 * The worker's part of trading (imported by WorkerJobsModule). Needs the global TradingModule
 * (ExchangeGatewayFactory) and UsersModule (credentials, decrypted at the moment of use).
 */
@Module({
  imports: [UsersModule],
  providers: [
    { provide: TradingManagerConfig, useFactory: () => TradingManagerConfig.fromEnv(process.env) },
    OrderClaimer,
    OrderTransitions,
    OrderGateways,
    OrderExecutor,
    OpenOrdersSync,
    OrderNotifyListener,
    TradingManager,
  ],
  exports: [TradingManager, TradingManagerConfig, OrderNotifyListener],
})
export class TradingManagerModule {}
