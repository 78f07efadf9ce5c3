import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EXCHANGE_CREDENTIAL_TESTER } from '@torgovo/core';
import { LiveCredentialTester } from './gateway/credential-tester';
import { ExchangeGatewayFactory, PAPER_EXCHANGE_OPTIONS } from './gateway/exchange-gateway.factory';
import { PaperAccount } from './gateway/paper/entities/paper-account.entity';
import { PaperBalance } from './gateway/paper/entities/paper-balance.entity';
import { PaperOrder } from './gateway/paper/entities/paper-order.entity';
import { OrderRecord } from './orders/entities/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';
import { OrderOwners } from './manager/order-owners';
import { OrderTransitions } from './manager/order-transitions';
import { OrderLatencyStats } from './orders/stats/order-latency';
import { OrderCredentialUse } from './orders/order-credential-use';
import { OrderSendFence } from './orders/send-fence';
import { OrderStatsService } from './orders/stats/order-stats.service';
import { PerformanceEngine } from './performance/performance-engine';
import { AccountPerformanceService } from './performance/account-performance.service';
import { PerformanceController } from './performance/performance.controller';
import { PaperBalances } from './gateway/paper/paper-balances.service';
import { PaperBatchFills } from './gateway/paper/paper-batch-fills';
import { DEFAULT_PAPER_EXCHANGE_OPTIONS, PaperExchangeOptions } from './gateway/paper/paper-exchange-gateway';

const providers = [
  ExchangeGatewayFactory,
  OrdersService,
  OrderOwners,
  OrderCredentialUse,
  OrderSendFence,
  OrderStatsService,
  PerformanceEngine,
  AccountPerformanceService,
  PaperBalances,
  PaperBatchFills,
  OrderTransitions,
  OrderLatencyStats,
  LiveCredentialTester,
  { provide: EXCHANGE_CREDENTIAL_TESTER, useExisting: LiveCredentialTester },
];

/**
 * Global because the users lib injects EXCHANGE_CREDENTIAL_TESTER without importing trading
 * (users sits below trading in the dependency order).
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([PaperAccount, PaperBalance, PaperOrder, OrderRecord])],
  controllers: [OrdersController, PerformanceController],
  providers: [...providers, { provide: PAPER_EXCHANGE_OPTIONS, useValue: DEFAULT_PAPER_EXCHANGE_OPTIONS }],
  exports: [ExchangeGatewayFactory, EXCHANGE_CREDENTIAL_TESTER, OrdersService, OrderOwners, OrderStatsService, PerformanceEngine, OrderTransitions, OrderLatencyStats, OrderSendFence, PaperBatchFills, PaperBalances],
})
export class TradingModule {
  /** The same module with other paper-exchange settings (starting balance, fee). */
  static withPaperOptions(options: Partial<PaperExchangeOptions>): DynamicModule {
    return {
      module: TradingModule,
      controllers: [OrdersController, PerformanceController],
      providers: [...providers, { provide: PAPER_EXCHANGE_OPTIONS, useValue: { ...DEFAULT_PAPER_EXCHANGE_OPTIONS, ...options } }],
      exports: [ExchangeGatewayFactory, EXCHANGE_CREDENTIAL_TESTER, OrdersService, OrderOwners, OrderStatsService, PerformanceEngine, OrderTransitions, OrderLatencyStats, OrderSendFence, PaperBatchFills, PaperBalances],
    };
  }
}
