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
    logging: ['error'],
    extra: { max: poolSize, application_name: appName },
  };
}
