import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

/** Root of the source (or dist) tree: this file lives at libs/core/src/database. */
const ROOT = join(__dirname, '..', '..', '..', '..');

export const MIGRATIONS_GLOB = join(ROOT, 'migrations', '*.{ts,js}');
export const ENTITIES_GLOB = join(ROOT, 'libs', '*', 'src', '**', '*.entity.{ts,js}');

/** Key of the advisory lock taken around migrations at boot (any stable bigint). */
export const MIGRATION_LOCK_KEY = 7_204_001;

export function dataSourceOptions(url: string, poolSize: number, appName = 'torgovo'): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [ENTITIES_GLOB],
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    // TypeORM's own logger prints failed queries with their parameters to the console, outside
    // pino's redaction; errors reach our logs as exceptions instead.
    logging: false,
    extra: { max: poolSize, application_name: appName },
  };
}
