import { mkdirSync } from 'node:fs';
import { AddressInfo, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { ConfigError } from '../config/app-config';
import { claimDataDir } from './embedded-data-dir';
import { PGliteSessionQueue } from './pglite-session-queue';

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
  let db: PGlite | undefined;
  let served: { url: string; close(): Promise<void> };
  try {
    db = await openPGlite(PGliteCtor, dataDir);
    served = await serveSession(db, maxConnections);
  } catch (err) {
    await db?.close().catch(() => undefined);
    if (claim?.owned) claim.release();
    throw err;
  }
  const opened = db;
  if (claim?.owned) claim.publish(served.url);
  return {
    url: served.url,
    async stop() {
      await served.close();
      await opened.close();
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

/**
 * Serves PGlite's single session to many client connections on 127.0.0.1. pglite-socket's
 * handler parses the wire protocol per connection; the listener and the queue that shares the
 * session are ours (see PGliteSessionQueue): pglite-socket's own server interleaves concurrent
 * connections' extended-protocol batches.
 */
async function serveSession(db: PGlite, maxConnections: number): Promise<{ url: string; close(): Promise<void> }> {
  const { PGLiteSocketHandler: Handler } = (await import('@electric-sql/pglite-socket')) as typeof import('@electric-sql/pglite-socket');
  const queue = new PGliteSessionQueue(db);
  const handlers = new Set<PGLiteSocketHandler>();
  const server = createServer((socket: Socket) => {
    if (handlers.size >= maxConnections) {
      socket.destroy();
      return;
    }
    // The handler's option is typed with pglite-socket's private queue class; ours has its shape.
    const handler = new Handler({ queryQueue: queue as unknown as ConstructorParameters<typeof Handler>[0]['queryQueue'], closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...handlers].map((h) => h.detach(true)));
      await closed;
    },
  };
}
