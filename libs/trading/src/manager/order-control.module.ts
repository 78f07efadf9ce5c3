import { Module } from '@nestjs/common';
import { UsersModule } from '@torgovo/users';
import { OrderCancels } from './order-cancels';
import { OrderControlConfig } from './order-control.config';
import { OrderGateways } from './order-gateways';
import { OrderWatchdog } from './order-watchdog';

/**
 * The worker's part of the user's manual control and of the order watchdog (imported by
 * WorkerJobsModule, which provides ScheduleModule): cancels on the exchange with the keys an order
 * was sent with (UsersModule: decrypted at the moment of use), and the watchdog's health flag.
 * OrderTransitions comes from the global TradingModule.
 */
@Module({
  imports: [UsersModule],
  providers: [{ provide: OrderControlConfig, useFactory: () => OrderControlConfig.fromEnv(process.env) }, OrderGateways, OrderCancels, OrderWatchdog],
  exports: [OrderCancels, OrderWatchdog, OrderControlConfig],
})
export class OrderControlModule {}
