import { Global, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config.service';
import { dataSourceOptions } from './data-source-options';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { migrateWithLock } from './migrate';
import { guardTransactionConnections } from './transaction-guard';

export const DATABASE_URL = Symbol('DATABASE_URL');

/** Owns the embedded server's lifetime when there is one. */
@Injectable()
export class DatabaseUrlProvider implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedPostgresHandle;
  private urlPromise?: Promise<string>;

  constructor(private readonly config: AppConfig) {}

  url(): Promise<string> {
    this.urlPromise ??= this.resolve();
    return this.urlPromise;
  }

  private async resolve(): Promise<string> {
    if (this.config.env.DATABASE_URL) return this.config.env.DATABASE_URL;
    const started = Date.now();
    const dir = process.env.TORGOVO_EMBEDDED_MEMORY === '1' ? 'memory' : this.config.dataDir;
    this.embedded = await startEmbeddedPostgres(dir, this.config.env.DATABASE_POOL_SIZE + 2);
    this.logger.log({ dir, ms: Date.now() - started }, 'Embedded PostgreSQL (PGlite) started');
    return this.embedded.url;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.embedded) {
      await this.embedded.stop();
      this.embedded = undefined;
    }
  }
}

@Global()
@Module({ providers: [DatabaseUrlProvider], exports: [DatabaseUrlProvider] })
class DatabaseUrlModule {}

@Module({})
export class DatabaseModule {
  static forRoot(appName: string) {
    let guard = false;
    return {
      module: DatabaseModule,
      imports: [
        DatabaseUrlModule,
        TypeOrmModule.forRootAsync({
          inject: [AppConfig, DatabaseUrlProvider],
          useFactory: async (config: AppConfig, urls: DatabaseUrlProvider) => {
            guard = config.env.DATABASE_TRANSACTION_GUARD ?? config.embedded;
            return {
              ...dataSourceOptions(await urls.url(), config.env.DATABASE_POOL_SIZE, appName),
              entities: [],
              autoLoadEntities: true,
            };
          },
          dataSourceFactory: async (options) => {
            const ds = await new DataSource(options!).initialize();
            if (guard) guardTransactionConnections(ds);
            const ran = await migrateWithLock(ds);
            if (ran.length > 0) new Logger('Database').log({ migrations: ran }, 'Migrations applied');
            return ds;
          },
        }),
      ],
    };
  }
}

