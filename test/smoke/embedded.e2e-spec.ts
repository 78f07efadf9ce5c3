import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';

// The embedded default: no DATABASE_URL, so PGlite starts in DATA_DIR and the same pg
// code path runs on it. One PGlite per file (it takes seconds to start).
describe('embedded default (PGlite)', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'torgovo-smoke-'));
    delete process.env.DATABASE_URL;
    Object.assign(process.env, { NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_ENABLED: 'false' });
    delete process.env.JWT_SECRET;
    delete process.env.ENCRYPTION_KEY;
    app = await createApiApp({ logging: { destination: new LogCapture() } });
    await app.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    process.env = saved;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates, registers a user and serves /health', async () => {
    const address = app.getHttpServer().address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const res = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'smoke@example.com', password: 'long-enough-pw', full_name: 'Smoke' }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { access_token: string };
    const me = await fetch(`${base}/api/users/me`, { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(me.status).toBe(200);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
  });
});
