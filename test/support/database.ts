import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrateWithLock } from '@torgovo/core';

export const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Set by global-setup.js: this jest run's id (base36 start time + random); a file run
// without the global setup (an IDE) gets its own.
const RUN = process.env.TORGOVO_TEST_RUN ?? `${Math.floor(Date.now() / 1000).toString(36)}${randomBytes(3).toString('hex')}`;
const TEMPLATE = `torgovo_tpl_${RUN}`;
const LOCK_KEY = 7_204_999;

function urlFor(db: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A small DataSource on the clone for assertions and fixtures. */
  dataSource: DataSource;
  drop(): Promise<void>;
}

/**
 * A fresh database per test file, cloned from a template that the first caller of the
 * run migrates (immich's test/medium pattern). Cloning takes ~100 ms; migrating, seconds.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const name = `torgovo_t_${RUN}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
      if (!rowCount) {
        await admin.query(`CREATE DATABASE ${TEMPLATE}`);
        const ds = await new DataSource(dataSourceOptions(urlFor(TEMPLATE), 2, 'torgovo-test-template')).initialize();
        try {
          await migrateWithLock(ds);
        } finally {
          await ds.destroy();
        }
      }
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const dataSource = await new DataSource({ ...dataSourceOptions(url, 4, 'torgovo-test'), entities: [] }).initialize();
  return {
    name,
    url,
    dataSource,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
