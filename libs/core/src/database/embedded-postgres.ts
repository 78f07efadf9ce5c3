import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ConfigError } from '../config/app-config';
import { claimDataDir } from './embedded-data-dir';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite served over the PostgreSQL wire protocol by pglite-socket, so the app keeps
 * one code path (the `pg` driver) for the embedded default and a real server.
 * Data persists in `<dataDir>/pglite`; `memory` keeps it in memory (smoke tests).
 */
export async function startEmbeddedPostgres(
  dataDir: string | 'memory',
  maxConnections: number,
  options: { attachToRunning?: boolean } = {},
): Promise<EmbeddedPostgresHandle> {
  // A data directory served by another live process is never opened twice (its writes would be
  // lost): a tool like the CLI goes through that server, anything else refuses to start.
  const claim = dataDir === 'memory' ? null : claimDataDir(dataDir);
  if (claim && !claim.owned) {
    const { pid, url } = claim.holder;
    if (options.attachToRunning && url) return { url, async stop() {} };
    throw new ConfigError(
      ['DATA_DIR'],
      url || !options.attachToRunning
        ? `The embedded database in ${dataDir} is in use by a running Torgovo (pid ${pid}). Stop it first, use another DATA_DIR, or set DATABASE_URL to a PostgreSQL server.`
        : `The embedded database in ${dataDir} is held by a Torgovo that is still starting (pid ${pid}). Try again in a few seconds.`,
    );
  }
  // Both packages are ESM-only; a dynamic import keeps this CommonJS build loading them lazily.
  const { PGlite: PGliteCtor } = (await import('@electric-sql/pglite')) as typeof import('@electric-sql/pglite');
  const { PGLiteSocketServer: Server } = (await import('@electric-sql/pglite-socket')) as typeof import('@electric-sql/pglite-socket');
  let db: PGlite;
  try {
    db = await openPGlite(PGliteCtor, dataDir);
  } catch (err) {
    if (claim?.owned) claim.release();
    throw err;
  }
  const server: PGLiteSocketServer = new Server({ db, port: 0, host: '127.0.0.1', maxConnections });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:PORT"
  const url = `postgres://postgres@${conn}/postgres`;
  if (claim?.owned) claim.publish(url);
  return {
    url,
    async stop() {
      await server.stop();
      await db.close();
      if (claim?.owned) claim.release();
    },
  };
}

async function openPGlite(PGliteCtor: typeof PGlite, dataDir: string): Promise<PGlite> {
  let db: PGlite;
  if (dataDir === 'memory') {
    db = await PGliteCtor.create();
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    db = await PGliteCtor.create(dir);
  }
  return db;
}
