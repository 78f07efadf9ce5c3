import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite served over the PostgreSQL wire protocol by pglite-socket, so the app keeps
 * one code path (the `pg` driver) for the embedded default and a real server.
 * Data persists in `<dataDir>/pglite`; `memory` keeps it in memory (smoke tests).
 */
export async function startEmbeddedPostgres(dataDir: string | 'memory', maxConnections: number): Promise<EmbeddedPostgresHandle> {
  // Both packages are ESM-only; a dynamic import keeps this CommonJS build loading them lazily.
  const { PGlite: PGliteCtor } = (await import('@electric-sql/pglite')) as typeof import('@electric-sql/pglite');
  const { PGLiteSocketServer: Server } = (await import('@electric-sql/pglite-socket')) as typeof import('@electric-sql/pglite-socket');
  let db: PGlite;
  if (dataDir === 'memory') {
    db = await PGliteCtor.create();
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    db = await PGliteCtor.create(dir);
  }
  const server: PGLiteSocketServer = new Server({ db, port: 0, host: '127.0.0.1', maxConnections });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:PORT"
  return {
    url: `postgres://postgres@${conn}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
