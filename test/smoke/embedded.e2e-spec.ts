import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';
import { FakeStripeServer } from '../fakes/stripe/fake-stripe-server';
import { BillingScheduler } from '../../libs/subscriptions/src/billing-scheduler';
import { RetentionSweeper } from '@torgovo/core';
import { PaymentRevenueCompactionJob, StripeCancelOutboxWorker } from '@torgovo/payments';
import { PnlDayRollupJob } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import Stripe from 'stripe';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';

// The embedded default exactly as `npm start` runs it: no DATABASE_URL, so PGlite starts in
// DATA_DIR, and the worker (TradingManager, billing) runs in the api process. pglite-socket
// serializes whole transactions across connections, so a query on a second pooled connection
// inside a transaction hangs here (and only here): this walks the main user journey to catch it.
describe('embedded default (PGlite, worker in process)', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  let base: string;
  let stripe: FakeStripeServer;
  let okx: FakeOkxServer;
  const saved = { ...process.env };
  const stripeKey = 'sk_test_embedded_smoke';

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'torgovo-smoke-'));
    delete process.env.DATABASE_URL;
    delete process.env.JWT_SECRET;
    delete process.env.ENCRYPTION_KEY;
    stripe = new FakeStripeServer(stripeKey);
    stripe.addPrice('price_pro_monthly', 2900, 'month');
    okx = await new FakeOkxServer().start();
    Object.assign(process.env, {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      WORKER_ENABLED: 'true',
      // Ticked by hand below, so its timer cannot race the assertion.
      STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS: '0',
      // Ticks beside every request below (it once stopped the embedded server answering).
      ORDER_STATS_ROLLUP_INTERVAL_SECONDS: '1',
      PORT: '3000',
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'admin-password-1',
      STRIPE_SECRET_KEY: stripeKey,
      STRIPE_WEBHOOK_SECRET: 'whsec_embedded_smoke',
      STRIPE_API_URL: await stripe.start(),
      OKX_API_URL: okx.url,
    });
    app = await createApiApp({ logging: { destination: new LogCapture() } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await stripe?.stop();
    await okx?.stop();
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
    // The FIFO performance statement runs on PGlite too: 0.001 BTC bought (less the 0.1 % fee in BTC) for 64.2505 USDT.
    const perf = await call<{ position: { amount: string; average_entry: string }; fees: string }>('GET', `/api/bots/${bot.body.id}/performance`, undefined, token);
    expect(perf.status).toBe(200);
    expect(perf.body).toMatchObject({ position: { amount: '0.000999', average_entry: '64314.814814814814814815' }, fees: '0.0642505' });
    expect((await call('GET', '/api/paper/balances', undefined, token)).body).toEqual([
      { currency: 'BTC', free: '0.000999', reserved: '0' },
      { currency: 'USDT', free: '9935.7495', reserved: '0' },
    ]);

    const health = await call<{ status: string }>('GET', '/health');
    expect(health.status).toBe(200);
  }, 60_000);

  it('admin plans, Stripe upgrade, cancel, webhooks rotate/deactivate, billing sweep, logout — nothing hangs', async () => {
    const admin = await call<{ access_token: string }>('POST', '/api/auth/login', { email: 'admin@example.com', password: 'admin-password-1' });
    expect(admin.status).toBe(200);
    const adminToken = admin.body.access_token;
    const plans = await call<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
    const pro = plans.body.items.find((p) => p.code === 'pro')!;
    expect((await call('PATCH', `/api/subscription-plans/${pro.id}`, { stripe_monthly_price_id: 'price_pro_monthly' }, adminToken)).status).toBe(200);
    const made = await call<{ id: string }>(
      'POST',
      '/api/subscription-plans',
      { plan_type: 'custom_bot', code: 'smoke_plan', name: 'Smoke', monthly_price: '5.00', yearly_price: '50.00', max_bots: 2, max_trading_pairs: 2, live_trading: false },
      adminToken,
    );
    expect(made.status).toBe(201);
    expect((await call('DELETE', `/api/subscription-plans/${made.body.id}`, undefined, adminToken)).status).toBeLessThan(300);

    const reg = await call<{ access_token: string; refresh_token: string; user: { id: string } }>('POST', '/api/auth/register', { email: 'upgrade@example.com', password: 'long-enough-pw', full_name: 'Up' });
    const token = reg.body.access_token;
    const free = plans.body.items.find((p) => p.code === 'free')!;
    expect((await call('POST', '/api/subscriptions', { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false }, token)).status).toBe(201);

    // Card upgrade: checkout, then Stripe's webhooks (signed as Stripe signs them).
    const checkout = await call<{ session_id: string; subscription_id: string }>('POST', '/api/payments/create-checkout', { plan_id: pro.id, billing_cycle: 'monthly' }, token);
    expect(checkout.status).toBe(201);
    const paid = stripe.completeCheckout(checkout.body.session_id);
    const signer = new Stripe('sk_test_signer_only');
    const deliver = (event: Record<string, unknown>) => {
      const payload = JSON.stringify(event);
      return fetch(`${base}/api/payments/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload, secret: 'whsec_embedded_smoke' }) },
        body: payload,
      });
    };
    expect((await deliver(stripe.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await deliver(stripe.event('invoice.paid', paid.invoice))).status).toBe(200);
    const mine = await call<{ custom_bot: { id: string; status: string; plan: { code: string } } | null }>('GET', '/api/subscriptions/my-subscription', undefined, token);
    // Pro has a 7-day trial: Stripe's first invoice is $0 and the card is charged when it ends.
    expect(mine.body.custom_bot).toMatchObject({ id: checkout.body.subscription_id, status: 'trial', plan: { code: 'pro' } });
    expect((await call<{ total: number }>('GET', '/api/payments/history', undefined, token)).body.total).toBe(1);
    expect((await call('POST', '/api/payments/portal', undefined, token)).status).toBe(200);

    // Pro allows live trading: connect the (fake) OKX account and trade live through ccxt.
    const account = okx.addAccount({ balances: { USDT: '5000' } });
    const connect = { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: account.demo };
    expect((await call('POST', '/api/users/me/exchange', { ...connect, passphrase: 'wrong-passphrase' }, token)).status).toBe(400);
    expect((await call('POST', '/api/users/me/exchange', connect, token)).status).toBe(200);
    const liveBot = await call<{ id: string }>('POST', '/api/bots', { name: 'live', symbol: 'BTC/USDT', mode: 'live', order_type: 'market', sizing: { type: 'base', value: '0.001' } }, token);
    expect(liveBot.status).toBe(201);
    const liveHook = await call<{ webhook_url: string }>('POST', '/api/custom-bot/webhook/generate', { bot_id: liveBot.body.id }, token);
    const liveAlert = await call<{ order_id: string }>('POST', new URL(liveHook.body.webhook_url).pathname, JSON.stringify({ action: 'buy', ticker: 'BTC-USDT', price: '64000' }), undefined, 'text/plain');
    expect(liveAlert.status).toBe(202);
    let live: { status: string; exchange_order_id: string | null; client_order_id: string } | undefined;
    for (let i = 0; i < 50; i++) {
      live = (await call<typeof live & object>('GET', `/api/orders/${liveAlert.body.order_id}`, undefined, token)).body;
      if (live.status === 'filled') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(live).toMatchObject({ status: 'filled', exchange_order_id: expect.any(String) });
    expect([...account.orders.values()].filter((o) => o.clOrdId === live!.client_order_id)).toHaveLength(1);
    expect((await call('DELETE', '/api/users/me/exchange', undefined, token)).status).toBe(204);

    // Bots and webhooks on the paid plan.
    const bot = await call<{ id: string }>('POST', '/api/bots', { name: 'eth', symbol: 'ETH/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'percent_balance', value: '10' } }, token);
    expect(bot.status).toBe(201);
    const hook = await call<{ id: string; webhook_url: string }>('POST', '/api/custom-bot/webhook/generate', { bot_id: bot.body.id }, token);
    const rotated = await call<{ webhook_url: string }>('POST', `/api/custom-bot/webhooks/${hook.body.id}/rotate`, undefined, token);
    expect(rotated.status).toBe(201);
    const oldPath = new URL(hook.body.webhook_url).pathname;
    const newPath = new URL(rotated.body.webhook_url).pathname;
    expect((await call('POST', oldPath, { action: 'buy', ticker: 'ETHUSDT', price: '3000' })).status).toBe(404);
    expect((await call('POST', newPath, '{"action": "buy", "ticker": ', undefined, 'text/plain')).status).toBe(400);
    expect((await call<{ total: number }>('GET', `/api/custom-bot/webhooks/${hook.body.id}/events`, undefined, token)).body.total).toBeGreaterThanOrEqual(1);
    expect((await call('DELETE', `/api/custom-bot/webhooks/${hook.body.id}`, undefined, token)).status).toBe(204);
    expect((await call('POST', newPath, { action: 'buy', ticker: 'ETHUSDT', price: '3000' })).status).toBe(404);
    expect((await call<{ items: unknown[] }>('GET', '/api/custom-bot/webhooks', undefined, token)).status).toBe(200);
    expect((await call('GET', '/api/orders?status=filled', undefined, token)).status).toBe(200);

    // Cancel at period end (mirrored to Stripe), then cancel now: the bots stop.
    const subId = checkout.body.subscription_id;
    expect((await call('PATCH', `/api/subscriptions/${subId}`, { cancel_at_period_end: true }, token)).status).toBe(200);
    const cancelled = await call<{ status: string }>('DELETE', `/api/subscriptions/${subId}`, undefined, token);
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect((await call<{ status: string }>('GET', `/api/bots/${bot.body.id}`, undefined, token)).body.status).toBe('stopped');
    expect((await call('DELETE', `/api/bots/${bot.body.id}`, undefined, token)).status).toBe(204);

    // An unpaid card checkout cancelled: its open Checkout Session is expired at Stripe.
    const payer = await call<{ access_token: string }>('POST', '/api/auth/register', { email: 'payer@example.com', password: 'long-enough-pw', full_name: 'Payer' });
    const unpaid = await call<{ subscription_id: string; session_id: string }>('POST', '/api/payments/create-checkout', { plan_id: pro.id, billing_cycle: 'monthly' }, payer.body.access_token);
    expect(unpaid.status).toBe(201);
    const dropped = await call<{ status: string }>('DELETE', `/api/subscriptions/${unpaid.body.subscription_id}`, undefined, payer.body.access_token);
    expect(dropped).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(stripe.requestsTo('POST', `/v1/checkout/sessions/${unpaid.body.session_id}/expire`)).toHaveLength(1);

    // The billing sweep expires a trial that ended, on the same embedded database.
    const ds = app.get(DataSource);
    const trialUser = await call<{ access_token: string; user: { id: string } }>('POST', '/api/auth/register', { email: 'sweep@example.com', password: 'long-enough-pw', full_name: 'Sweep' });
    const trial = await call<{ id: string }>('POST', '/api/subscriptions', { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false }, trialUser.body.access_token);
    await ds.query(`UPDATE user_subscriptions SET end_date = now() - interval '1 day' WHERE id = $1`, [trial.body.id]);
    // The in-process scheduler's own timer may sweep it first; either way it ends expired.
    await app.get(BillingScheduler).tick();
    expect((await call<{ status: string }>('GET', `/api/subscriptions/${trial.body.id}`, undefined, trialUser.body.access_token)).body.status).toBe('expired');

    // The retention sweep runs on PGlite too (nothing is old enough to delete yet).
    expect(await app.get(RetentionSweeper).tick()).toMatchObject({ webhook_events: 0, refresh_tokens: 0 });

    // So does the Stripe cancellation outbox: the card subscription cancelled above was queued when
    // it ended, and is found already cancelled at Stripe.
    expect(await app.get(StripeCancelOutboxWorker).tick()).toEqual({ cancelled: 0, skipped: 1, failed: 0, customers: { deleted: 0, already_deleted: 0, failed: 0 } });

    // Refresh rotation and logout.
    const refreshed = await call<{ refresh_token: string; access_token: string }>('POST', '/api/auth/refresh', { refresh_token: reg.body.refresh_token });
    expect(refreshed.status).toBe(200);
    // The same client again within the grace window (a second tab): the same new pair.
    const replayed = await call<{ refresh_token: string }>('POST', '/api/auth/refresh', { refresh_token: reg.body.refresh_token });
    expect(replayed).toMatchObject({ status: 200, body: { refresh_token: refreshed.body.refresh_token } });
    expect((await call('POST', '/api/auth/logout', { refresh_token: refreshed.body.refresh_token }, refreshed.body.access_token)).status).toBe(204);
  }, 90_000);

  it('the admin rollups run on PGlite: order stats (ticking beside the requests), PnL by day, revenue folding', async () => {
    const ds = app.get(DataSource);
    const admin = await call<{ access_token: string }>('POST', '/api/auth/login', { email: 'admin@example.com', password: 'admin-password-1' });
    // The journeys above filled orders (paper and live) while the job ticked every second.
    const [{ finished }] = (await ds.query(`SELECT count(*)::int AS finished FROM orders WHERE closed_at IS NOT NULL`)) as Array<{ finished: number }>;
    expect(finished).toBeGreaterThanOrEqual(2);
    let rolled = 0;
    for (let i = 0; i < 50 && rolled < finished; i++) {
      [{ rolled }] = (await ds.query(`SELECT coalesce(sum(orders), 0)::int AS rolled FROM order_day_stats`)) as Array<{ rolled: number }>;
      if (rolled < finished) await new Promise((r) => setTimeout(r, 200));
    }
    expect(rolled).toBe(finished);
    const stats = await call<{ by_day: Array<{ filled: number }> }>('GET', '/api/admin/trading/stats', undefined, admin.body.access_token);
    expect(stats.status).toBe(200);
    expect(stats.body.by_day.reduce((n, d) => n + d.filled, 0)).toBeGreaterThanOrEqual(2);

    // The other admin rollups run on PGlite too: the FIFO PnL recomputation and the revenue folding
    // (the payments trigger has counted the Stripe payment above).
    expect(await app.get(PnlDayRollupJob).tick()).toEqual(expect.any(Number));
    expect(await app.get(PaymentRevenueCompactionJob).tick()).toBeGreaterThanOrEqual(1);
    const revenue = await call<{ by_month: Array<{ payments: number }> }>('GET', '/api/admin/revenue', undefined, admin.body.access_token);
    expect(revenue.status).toBe(200);
    expect(revenue.body.by_month.reduce((n, m) => n + m.payments, 0)).toBeGreaterThanOrEqual(1);
    const pnl = await call<{ pnl: { computed_at: string | null } }>('GET', '/api/admin/trading/stats', undefined, admin.body.access_token);
    expect(pnl.body.pnl.computed_at).not.toBeNull();
  }, 30_000);
});
