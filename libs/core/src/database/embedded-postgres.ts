import { mkdirSync } from 'node:fs';
import { AddressInfo, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { PGliteSessionQueue } from './pglite-session-queue';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite served over the PostgreSQL wire protocol by pglite-socket, so the app keeps
 * one code path (the `pg` driver) for the embedded default and a real server.
 * Data persists in `<dataDir>/pglite`; `memory` keeps it in memory (smoke tests).
 *
 * pglite-socket's handler parses the wire protocol per connection; the listener and the queue
 * that shares PGlite's single session between connections are ours (see PGliteSessionQueue):
 * its own server interleaves concurrent connections' extended-protocol batches.
 */
export async function startEmbeddedPostgres(dataDir: string | 'memory', maxConnections: number): Promise<EmbeddedPostgresHandle> {
  // Both packages are ESM-only; a dynamic import keeps this CommonJS build loading them lazily.
  const { PGlite: PGliteCtor } = (await import('@electric-sql/pglite')) as typeof import('@electric-sql/pglite');
  const { PGLiteSocketHandler: Handler } = (await import('@electric-sql/pglite-socket')) as typeof import('@electric-sql/pglite-socket');
  let db: PGlite;
  if (dataDir === 'memory') {
    db = await PGliteCtor.create();
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    db = await PGliteCtor.create(dir);
  }
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
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...handlers].map((h) => h.detach(true)));
      await closed;
      await db.close();
    },
  };
}
