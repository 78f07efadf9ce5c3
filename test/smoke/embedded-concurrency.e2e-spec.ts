import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';

// The embedded default (PGlite behind pglite-socket) under concurrent requests, as a React app in
// StrictMode or two tabs produce them. PGlite has one session: pglite-socket used to interleave
// the extended-protocol messages (Parse/Bind/Execute/Sync) of different connections, so one
// request's Bind replaced another's unnamed portal ("portal \"\" cannot be run") and an error
// made the session discard the other connection's messages until its Sync. Never a 500.
describe('embedded default under concurrent requests', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  let base: string;
  const logs = new LogCapture();
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'torgovo-concurrency-'));
    delete process.env.DATABASE_URL;
    delete process.env.JWT_SECRET;
    delete process.env.ENCRYPTION_KEY;
    Object.assign(process.env, {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      WORKER_ENABLED: 'true',
      STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS: '0',
      AUTH_THROTTLE_LIMIT: '1000',
      PORT: '3000',
    });
    app = await createApiApp({ logging: { destination: logs } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    process.env = saved;
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string, contentType = 'application/json'): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = contentType;
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  let n = 0;
  async function user(): Promise<{ access_token: string; refresh_token: string }> {
    n += 1;
    const reg = await call<{ access_token: string; refresh_token: string }>('POST', '/api/auth/register', { email: `c${n}@example.com`, password: 'long-enough-pw', full_name: 'C' });
    expect(reg.status).toBe(201);
    return reg.body;
  }

  async function freePlan(token: string): Promise<void> {
    const plans = await call<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
    const free = plans.body.items.find((p) => p.code === 'free')!;
    expect((await call('POST', '/api/subscriptions', { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false }, token)).status).toBe(201);
  }

  const no500 = (statuses: number[]) => expect(statuses.filter((s) => s >= 500)).toEqual([]);

  it('four concurrent refreshes with one token: no 500, and every round ends with a usable session', async () => {
    for (let round = 0; round < 3; round++) {
      const { refresh_token } = await user();
      const results = await Promise.all(Array.from({ length: 4 }, () => call<{ refresh_token?: string }>('POST', '/api/auth/refresh', { refresh_token })));
      no500(results.map((r) => r.status));
      // One new pair, given to all four (the refresh grace window).
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(results.map((r) => r.body.refresh_token)).size).toBe(1);
    }
    expect(logs.text()).not.toContain('cannot be run');
  });

  it('concurrent duplicate alerts: one order, the others answer it as a duplicate', async () => {
    const { access_token: token } = await user();
    await freePlan(token);
    const bot = await call<{ id: string }>('POST', '/api/bots', { name: 'dup', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } }, token);
    expect(bot.status).toBe(201);
    const hook = await call<{ webhook_url: string }>('POST', '/api/custom-bot/webhook/generate', { bot_id: bot.body.id }, token);
    const path = new URL(hook.body.webhook_url).pathname;
    for (let round = 0; round < 3; round++) {
      const alert = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '64000', alert_id: `dup-${round}` });
      const results = await Promise.all(Array.from({ length: 4 }, () => call<{ order_id: string }>('POST', path, alert, undefined, 'text/plain')));
      no500(results.map((r) => r.status));
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 202]);
      expect(new Set(results.map((r) => r.body.order_id)).size).toBe(1);
    }
  });

  it('concurrent bot creation and reads: no 500, and the plan limit holds', async () => {
    for (let round = 0; round < 3; round++) {
      const { access_token: token } = await user();
      await freePlan(token);
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          call('POST', '/api/bots', { name: `b${i}`, symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } }, token),
        ).concat(Array.from({ length: 4 }, () => call('GET', '/api/bots', undefined, token))),
      );
      no500(results.map((r) => r.status));
      // Free allows one bot.
      expect(results.slice(0, 4).filter((r) => r.status === 201)).toHaveLength(1);
      const list = await call<{ total: number }>('GET', '/api/bots', undefined, token);
      expect(list.body.total).toBe(1);
    }
  });
});
