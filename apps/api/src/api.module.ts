import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { seconds, ThrottlerModule } from '@nestjs/throttler';
import {
  AllExceptionsFilter,
  AppConfig,
  CoreModule,
  createValidationPipe,
  HealthModule,
  LoggingOptions,
  RedisThrottlerStorage,
  RolesGuard,
} from '@torgovo/core';
import { TradingModule } from '@torgovo/trading';
import { JwtAuthGuard, UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from '../../worker/src/worker-jobs.module';
import { AdminBootstrap } from './admin-bootstrap';

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
        CoreModule.forRoot({ appName: 'api', logging: options.logging }),
        ThrottlerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (c: AppConfig) => ({
            throttlers: [{ name: 'auth', ttl: seconds(c.env.AUTH_THROTTLE_TTL_SECONDS), limit: c.env.AUTH_THROTTLE_LIMIT }],
            storage: c.env.REDIS_URL ? new RedisThrottlerStorage(c.env.REDIS_URL) : undefined,
          }),
        }),
        HealthModule,
        UsersModule,
        TradingModule,
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
