import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditService } from './audit/audit.service';
import { AuditLog } from './audit/entities/audit-log.entity';
import { ConfigModule } from './config/config.module';
import { secretBoxProvider } from './crypto/secret-box.provider';
import { SecretBox } from './crypto/secret-box';
import { DatabaseModule } from './database/database.module';
import { LoggingModule, LoggingOptions } from './logging/logging.module';

export interface CoreModuleOptions {
  /** application_name on database connections: api, worker, cli. */
  appName: string;
  logging?: LoggingOptions;
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
        DatabaseModule.forRoot(`torgovo-${options.appName}`),
        TypeOrmModule.forFeature([AuditLog]),
      ],
      providers: [secretBoxProvider, AuditService],
      exports: [ConfigModule, SecretBox, AuditService],
    };
  }
}
