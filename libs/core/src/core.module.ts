import { DynamicModule, Global, Module } from '@nestjs/common';
import { seconds, ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditService } from './audit/audit.service';
import { AuditLog } from './audit/entities/audit-log.entity';
import { ConfigModule } from './config/config.module';
import { AppConfig } from './config/config.service';
import { secretBoxProvider } from './crypto/secret-box.provider';
import { SecretBox } from './crypto/secret-box';
import { DatabaseModule } from './database/database.module';
import { LoggingModule, LoggingOptions } from './logging/logging.module';
import { OKX_CALLS_MODE, OkxCallsMode } from './exchange/okx-calls';
import { OkxSidecar } from './exchange/okx-sidecar';
import { RetentionConfig } from './retention/retention-config';
import { RetentionRegistry } from './retention/retention-registry';
import { PeriodicJobsShutdown } from './scheduling/periodic-jobs-shutdown';
import { ThrottlerStorageHolder, ThrottlerStorageModule } from './throttling/throttler-storage.module';

export interface CoreModuleOptions {
  /** application_name on database connections: api, worker, cli. */
  appName: string;
  logging?: LoggingOptions;
  /** Go through the embedded server that another process serves from DATA_DIR instead of refusing (the CLI). */
  attachToRunningEmbedded?: boolean;
  /** Where this process's OKX calls run (OkxCallsMode); default in-process. The api decides from OKX_CALLS. */
  okxCalls?: OkxCallsMode;
}

@Global()
@Module({})
export class CoreModule {
  static forRoot(options: CoreModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      global: true,
      imports: [
        ConfigModule,
        LoggingModule.forRoot(options.logging),
        DatabaseModule.forRoot(`torgovo-${options.appName}`, { attachToRunning: options.attachToRunningEmbedded }),
        TypeOrmModule.forFeature([AuditLog]),
        // Named throttlers; routes opt in with ThrottlerGuard + @Throttle({ name: {} }).
        ThrottlerModule.forRootAsync({
          imports: [ThrottlerStorageModule],
          inject: [AppConfig, ThrottlerStorageHolder],
          useFactory: (c: AppConfig, holder: ThrottlerStorageHolder) => ({
            throttlers: [{ name: 'auth', ttl: seconds(c.env.AUTH_THROTTLE_TTL_SECONDS), limit: c.env.AUTH_THROTTLE_LIMIT }],
            storage: holder.storage,
          }),
        }),
      ],
      providers: [
        secretBoxProvider,
        AuditService,
        RetentionRegistry,
        { provide: RetentionConfig, useFactory: () => RetentionConfig.fromEnv(process.env) },
        OkxSidecar,
        { provide: OKX_CALLS_MODE, useValue: options.okxCalls ?? 'in-process' },
        PeriodicJobsShutdown,
      ],
      exports: [ConfigModule, SecretBox, AuditService, ThrottlerModule, RetentionRegistry, RetentionConfig, OkxSidecar, OKX_CALLS_MODE],
    };
  }
}
