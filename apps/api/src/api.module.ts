import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import {
  AllExceptionsFilter,
  AppConfig,
  CoreModule,
  createValidationPipe,
  HealthModule,
  LoggingOptions,
  RolesGuard,
} from '@torgovo/core';
import { AdminModule } from '@torgovo/admin';
import { LiveUpdatesModule } from '@torgovo/live-updates';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { ManagedBotsModule } from '@torgovo/managed-bots';
import { PaymentsModule } from '@torgovo/payments';
import { PlansModule } from '@torgovo/plans';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { TradingModule } from '@torgovo/trading';
import { JwtAuthGuard, UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from '../../worker/src/worker-jobs.module';
import { AdminBootstrap } from './admin-bootstrap';
import { ProfileModule } from './profile.module';

export interface ApiModuleOptions {
  logging?: LoggingOptions;
}

@Module({})
export class ApiModule {
  static register(options: ApiModuleOptions = {}): DynamicModule {
    // Read once here only to decide the module graph; CoreModule validates the same env.
    const config = AppConfig.fromEnv(process.env);
    return {
      module: ApiModule,
      imports: [
        // The api alone keeps ccxt out of its process (OKX_CALLS); with the worker in it, ccxt is loaded for live orders anyway.
        CoreModule.forRoot({ appName: 'api', logging: options.logging, okxCalls: config.env.OKX_CALLS ?? (config.workerEnabled ? 'in-process' : 'sidecar') }),
        HealthModule,
        UsersModule,
        TradingModule,
        PlansModule,
        SubscriptionsModule,
        PaymentsModule,
        CustomBotsModule,
        ManagedBotsModule,
        ProfileModule,
        AdminModule,
        LiveUpdatesModule,
        ...(config.workerEnabled ? [WorkerJobsModule] : []),
      ],
      providers: [
        AdminBootstrap,
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
