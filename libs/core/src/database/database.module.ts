import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config.service';
import { dataSourceOptions } from './data-source-options';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { migrateWithLock } from './migrate';
import { guardTransactionConnections } from './transaction-guard';

export const DATABASE_URL = Symbol('DATABASE_URL');
/** Whether this process may go through an embedded server another process runs (the CLI). */
const ATTACH_TO_RUNNING = Symbol('ATTACH_TO_RUNNING');
/** Connections the embedded server takes beyond this process's pool: the CLI attaches through them. */
const EMBEDDED_SPARE_CONNECTIONS = 4;

/** Owns the embedded server's lifetime when there is one. */
@Injectable()
export class DatabaseUrlProvider implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedPostgresHandle;
  private urlPromise?: Promise<string>;

  constructor(
    private readonly config: AppConfig,
    @Inject(ATTACH_TO_RUNNING) private readonly attachToRunning: boolean,
  ) {}

  url(): Promise<string> {
    this.urlPromise ??= this.resolve();
    return this.urlPromise;
  }

  private async resolve(): Promise<string> {
    if (this.config.env.DATABASE_URL) return this.config.env.DATABASE_URL;
    const started = Date.now();
    const dir = process.env.TORGOVO_EMBEDDED_MEMORY === '1' ? 'memory' : this.config.dataDir;
    this.embedded = await startEmbeddedPostgres(dir, this.config.env.DATABASE_POOL_SIZE + EMBEDDED_SPARE_CONNECTIONS, {
      attachToRunning: this.attachToRunning,
    });
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

@Module({})
class DatabaseUrlModule {
  static forRoot(attachToRunning: boolean): DynamicModule {
    return {
      module: DatabaseUrlModule,
      global: true,
      providers: [DatabaseUrlProvider, { provide: ATTACH_TO_RUNNING, useValue: attachToRunning }],
      exports: [DatabaseUrlProvider],
    };
  }
}

@Module({})
export class DatabaseModule {
  /** `attachToRunning`: use the embedded server another process already serves from DATA_DIR (the CLI). */
  static forRoot(appName: string, options: { attachToRunning?: boolean } = {}) {
    let guard = false;
    return {
      module: DatabaseModule,
      imports: [
        DatabaseUrlModule.forRoot(options.attachToRunning ?? false),
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

