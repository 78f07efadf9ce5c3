import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';

// The embedded default exactly as `npm start` runs it: no DATABASE_URL, so PGlite starts in
// DATA_DIR, and the worker (TradingManager, billing) runs in the api process. pglite-socket
// serializes whole transactions across connections, so a query on a second pooled connection
// inside a transaction hangs here (and only here): this walks the main user journey to catch it.
describe('embedded default (PGlite, worker in process)', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  let base: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'torgovo-smoke-'));
    delete process.env.DATABASE_URL;
    delete process.env.JWT_SECRET;
    delete process.env.ENCRYPTION_KEY;
    Object.assign(process.env, { NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_ENABLED: 'true', PORT: '3000' });
    app = await createApiApp({ logging: { destination: new LogCapture() } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    process.env = saved;
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function call<T>(method: string, path: string, body?: unknown, token?: string, contentType = 'application/json'): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = contentType;
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  it('register → free plan → paper bot → webhook alert → order filled', async () => {
    const reg = await call<{ access_token: string }>('POST', '/api/auth/register', { email: 'smoke@example.com', password: 'long-enough-pw', full_name: 'Smoke' });
    expect(reg.status).toBe(201);
    const token = reg.body.access_token;
    expect((await call('GET', '/api/users/me', undefined, token)).status).toBe(200);

    const plans = await call<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
    const free = plans.body.items.find((p) => p.code === 'free')!;
    const sub = await call<{ status: string }>('POST', '/api/subscriptions', { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false }, token);
    expect(sub.status).toBe(201);
    expect(sub.body.status).toBe('active');

    const bot = await call<{ id: string; status: string }>(
      'POST',
      '/api/bots',
      { name: 'btc', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '100' } },
      token,
    );
    expect(bot.status).toBe(201);
    expect((await call('POST', `/api/bots/${bot.body.id}/stop`, undefined, token)).status).toBe(200);
    expect((await call('POST', `/api/bots/${bot.body.id}/start`, undefined, token)).status).toBe(200);

    const hook = await call<{ webhook_url: string }>('POST', '/api/custom-bot/webhook/generate', { bot_id: bot.body.id }, token);
    expect(hook.status).toBe(201);
    const path = new URL(hook.body.webhook_url).pathname;
    // TradingView sends text/plain.
    const alert = JSON.stringify({ action: 'buy', ticker: 'OKX:BTCUSDT', price: '64250.5', quantity: '0.001', alert_id: 'smoke-1' });
    const accepted = await call<{ status: string; order_id: string }>('POST', path, alert, undefined, 'text/plain');
    expect(accepted.status).toBe(202);
    const again = await call<{ status: string; order_id: string }>('POST', path, alert, undefined, 'text/plain');
    expect(again).toEqual({ status: 200, body: { status: 'duplicate', order_id: accepted.body.order_id } });

    // The in-process TradingManager (polling: PGlite cannot deliver NOTIFY) fills it on paper.
    let order: { status: string; filled: string; average: string } | undefined;
    for (let i = 0; i < 50; i++) {
      order = (await call<{ status: string; filled: string; average: string }>('GET', `/api/orders/${accepted.body.order_id}`, undefined, token)).body;
      if (order.status === 'filled') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(order).toMatchObject({ status: 'filled', filled: '0.001', average: '64250.5' });

    const health = await call<{ status: string }>('GET', '/health');
    expect(health.status).toBe(200);
  }, 60_000);
});
