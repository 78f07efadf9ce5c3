import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

// The embedded default is one process's database: the CLI run next to `npm start` must change what
// the running server sees (before: it opened a second PGlite on the same directory, and its writes
// were lost — a "deactivated" user could still log in, a created admin vanished at restart), and a
// second server on the same DATA_DIR must refuse to start rather than fork the data.
describe('embedded DATA_DIR held by a running server', () => {
  let dataDir: string;
  let app: NestFastifyApplication | undefined;
  let base: string;
  const saved = { ...process.env };

  const env = () => ({
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    WORKER_ENABLED: 'false',
    DATABASE_POOL_SIZE: '4',
  });

  async function start(): Promise<NestFastifyApplication> {
    Object.assign(process.env, env());
    delete process.env.DATABASE_URL;
    delete process.env.JWT_SECRET;
    delete process.env.ENCRYPTION_KEY;
    delete process.env.ADMIN_EMAIL;
    try {
      const a = await createApiApp({ logging: { destination: new LogCapture() } });
      await a.listen({ port: 0, host: '127.0.0.1' });
      return a;
    } finally {
      process.env = { ...saved };
    }
  }

  function cli(...args: string[]) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env(), NODE_OPTIONS: '', ADMIN_PASSWORD: 'cli-admin-password' };
    delete childEnv.DATABASE_URL;
    delete childEnv.JWT_SECRET;
    delete childEnv.ENCRYPTION_KEY;
    delete childEnv.ADMIN_EMAIL;
    return run(process.execPath, ['-r', './test/support/swc-register.js', '-r', 'tsconfig-paths/register', 'apps/cli/src/main.ts', ...args], {
      cwd: ROOT,
      env: childEnv,
      timeout: 90_000,
    });
  }

  async function login(email: string, password: string) {
    const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    return { status: res.status, body: (await res.json()) as { user?: { role: string } } };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'torgovo-datadir-'));
    app = await start();
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    process.env = saved;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the CLI goes through the running server: a deactivation and a new admin take effect at once', async () => {
    const reg = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'trader@example.com', password: 'trader-password-1', full_name: 'Trader' }),
    });
    expect(reg.status).toBe(201);

    const off = await cli('deactivate-user', '--email', 'trader@example.com');
    expect(off.stdout).toContain('is deactivated');
    expect((await login('trader@example.com', 'trader-password-1')).status).toBe(401);

    const created = await cli('create-admin', '--email', 'boss@example.com');
    expect(created.stdout).toContain('Admin created');
    const asAdmin = await login('boss@example.com', 'cli-admin-password');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.user?.role).toBe('admin');
  }, 180_000);

  it('a second server on the same DATA_DIR refuses to start, naming what to do', async () => {
    await expect(start()).rejects.toThrow(/in use by a running Torgovo \(pid \d+\)/);
    // The running one is untouched.
    expect((await login('boss@example.com', 'cli-admin-password')).status).toBe(200);
  }, 120_000);

  it('with no server running the CLI opens the data itself, and the next start sees its change', async () => {
    await app!.close();
    app = undefined;
    expect(existsSync(join(dataDir, 'embedded-server.json'))).toBe(false);

    const created = await cli('create-admin', '--email', 'offline-admin@example.com');
    expect(created.stdout).toContain('Admin created');

    app = await start();
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    expect((await login('offline-admin@example.com', 'cli-admin-password')).status).toBe(200);
    expect((await login('boss@example.com', 'cli-admin-password')).status).toBe(200);
    expect((await login('trader@example.com', 'trader-password-1')).status).toBe(401);
  }, 180_000);
});
