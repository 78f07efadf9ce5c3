import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';
import { countRows, createBot, eventRows, generateWebhook, orderById, planId, sendAlert, subscribe, TestUser, timenow } from './support';

describe('custom bots (e2e: real PostgreSQL, live markets from the fake OKX)', () => {
  let okx: FakeOkxServer;
  let t: TestApp;
  const account = { apiKey: 'okx-bots-key-0001', secret: 'OKX-BOTS-SECRET-0001', passphrase: 'Bots-Pass-0001' };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    okx.addAccount({ ...account, balances: { USDT: '1000' } });
    t = await createTestApp({ OKX_API_URL: okx.url });
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  const connectExchange = async (u: TestUser): Promise<void> => {
    const res = await t.request('POST', '/api/users/me/exchange', {
      token: u.access_token,
      body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
    });
    expect(res.status).toBe(200);
  };

  it('CRUD: create normalizes the symbol, list and get show counters, stop/start, delete hides it and keeps its orders', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const created = await createBot(t, u, { name: 'Breakout', symbol: 'OKX:ETHUSDT', sizing: { type: 'percent_balance', value: '25.50' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Breakout',
      symbol: 'ETH/USDT',
      mode: 'paper',
      exchange: 'paper',
      order_type: 'market',
      sizing: { type: 'percent_balance', value: '25.5' },
      status: 'running',
      stop_reason: null,
      signals_received: 0,
      orders_created: 0,
      last_signal_at: null,
    });
    const id = created.body.id as string;
    const list = await t.request<{ items: Array<{ id: string }>; total: number; page: number; limit: number }>('GET', '/api/bots', { token: u.access_token });
    expect(list.body).toMatchObject({ total: 1, page: 1, limit: 50 });
    expect(list.body.items.map((b) => b.id)).toEqual([id]);

    const hook = await generateWebhook(t, u, id);
    const sent = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'ETHUSDT', price: '3000', quantity: '1', timestamp: timenow() });
    expect(sent.status).toBe(202);

    expect((await t.request('POST', `/api/bots/${id}/stop`, { token: u.access_token })).body).toMatchObject({ status: 'stopped', stop_reason: 'user' });
    expect((await t.request('POST', `/api/bots/${id}/start`, { token: u.access_token })).body).toMatchObject({ status: 'running', stop_reason: null, orders_created: 1 });

    expect((await t.request('DELETE', `/api/bots/${id}`, { token: u.access_token })).status).toBe(204);
    expect((await t.request('GET', `/api/bots/${id}`, { token: u.access_token })).status).toBe(404);
    expect((await t.request<{ total: number }>('GET', '/api/bots', { token: u.access_token })).body.total).toBe(0);
    // Its orders stay; its webhook no longer works.
    expect((await orderById(t, sent.body.order_id as string)).bot_id).toBe(id);
    expect((await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'ETHUSDT' })).status).toBe(404);
    // Deleted bots do not count: the free plan's one bot can be created again.
    expect((await createBot(t, u)).status).toBe(201);
  });

  it.each([
    ['unknown symbol', { symbol: 'NOPE/USDT' }, 'unknown_symbol'],
    ['negative sizing', { sizing: { type: 'quote', value: '-1' } }, 'validation_failed'],
    ['zero sizing', { sizing: { type: 'base', value: '0' } }, 'validation_failed'],
    ['percent over 100', { sizing: { type: 'percent_balance', value: '101' } }, 'validation_failed'],
    ['bad mode', { mode: 'futures' }, 'validation_failed'],
  ])('%s → 400 %s', async (_label, body, code) => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const res = await createBot(t, u, body as never);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code });
    expect(await countRows(t, 'orders', 'user_id = $1', [u.id])).toBe(0);
  });

  it('unknown fields are rejected and a missing subscription is 403 no_active_subscription', async () => {
    const u = await t.register();
    const extra = await t.request('POST', '/api/bots', {
      token: u.access_token,
      body: { name: 'x', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '1' }, leverage: 10 },
    });
    expect(extra.status).toBe(400);
    const res = await createBot(t, u);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'no_active_subscription' });
  });

  it('free plan: one bot (plan_limit), paper only (live_trading_not_allowed)', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const live = await createBot(t, u, { mode: 'live' });
    expect({ status: live.status, code: live.body.code }).toEqual({ status: 403, code: 'live_trading_not_allowed' });
    expect((await createBot(t, u)).status).toBe(201);
    const second = await createBot(t, u, { symbol: 'ETH/USDT' });
    expect({ status: second.status, code: second.body.code }).toEqual({ status: 403, code: 'plan_limit' });
  });

  it('concurrent creations cannot exceed the plan (free: 5 at once → one bot)', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const results = await Promise.all(Array.from({ length: 5 }, () => createBot(t, u)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 403, 403, 403, 403]);
    const [row] = (await t.db.dataSource.query('SELECT count(*)::int AS n FROM bots WHERE user_id = $1', [u.id])) as Array<{ n: number }>;
    expect(row.n).toBe(1);
  });

  it('pro: live needs a connected exchange (400), then the live market list resolves the symbol; limits at start', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    const notConnected = await createBot(t, u, { mode: 'live' });
    expect({ status: notConnected.status, code: notConnected.body.code }).toEqual({ status: 400, code: 'exchange_not_connected' });
    await connectExchange(u);
    const live = await createBot(t, u, { mode: 'live', symbol: 'BTCUSDT' });
    expect(live.status).toBe(201);
    expect(live.body).toMatchObject({ mode: 'live', exchange: 'okx', symbol: 'BTC/USDT' });
    // Percent-of-balance sizing works live: the worker reads the free balance when it places the order.
    const pct = await createBot(t, u, { mode: 'live', symbol: 'SOL/USDT', sizing: { type: 'percent_balance', value: '10' } });
    expect(pct.status).toBe(201);
    expect(pct.body).toMatchObject({ mode: 'live', exchange: 'okx', symbol: 'SOL/USDT', sizing: { type: 'percent_balance', value: '10' } });
    const pctHook = await generateWebhook(t, u, pct.body.id as string);
    const half = await sendAlert(t, pctHook.webhook_secret, { action: 'buy', ticker: 'SOLUSDT', quantity: '50%', timestamp: timenow() });
    expect(half.status).toBe(202);
    expect(await orderById(t, half.body.order_id as string)).toMatchObject({ mode: 'live', side: 'buy', status: 'pending', amount: null, quote_amount: null, quote_percent: '50.000000000000000000' });
    const bySizing = await sendAlert(t, pctHook.webhook_secret, { action: 'buy', ticker: 'SOLUSDT', timestamp: timenow() });
    expect(await orderById(t, bySizing.body.order_id as string)).toMatchObject({ amount: null, quote_amount: null, quote_percent: '10.000000000000000000' });
    expect((await t.request('POST', `/api/bots/${pct.body.id as string}/stop`, { token: u.access_token })).body).toMatchObject({ status: 'stopped' });
    expect((await t.request('POST', `/api/bots/${pct.body.id as string}/start`, { token: u.access_token })).body).toMatchObject({ status: 'running', stop_reason: null });

    // Pro allows 3 bots.
    const b3 = await createBot(t, u, { symbol: 'ETH/USDT' });
    expect(b3.status).toBe(201);
    const b4 = await createBot(t, u, { symbol: 'BTC/USDT' });
    expect({ status: b4.status, code: b4.body.code }).toEqual({ status: 403, code: 'plan_limit' });

    // A live alert becomes a live order on the user's exchange (executed later by the TradingManager).
    const hook = await generateWebhook(t, u, live.body.id as string);
    const sent = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'OKX:BTCUSDT', quantity: '0.001', timestamp: timenow() });
    expect(sent.status).toBe(202);
    expect(await orderById(t, sent.body.order_id as string)).toMatchObject({ mode: 'live', exchange: 'okx', symbol: 'BTC/USDT', amount: '0.001000000000000000', price: null });

    // The plan loses live trading: the live bot's alerts are refused with the reason.
    const admin = await t.admin();
    const patched = await t.request('PATCH', `/api/subscription-plans/${await planId(t, 'pro')}`, { token: admin.access_token, body: { live_trading: false } });
    expect(patched.status).toBe(200);
    const before = await countRows(t, 'orders');
    const refused = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', timestamp: timenow() });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'live_trading_not_allowed' });
    expect(await countRows(t, 'orders')).toBe(before);
    const events = await eventRows(t, hook.id);
    expect(events.map((e) => e.outcome)).toEqual(['accepted', 'rejected']);
    expect(events[1]).toMatchObject({ reason: 'live_trading_not_allowed', status_code: 403 });
    await t.request('PATCH', `/api/subscription-plans/${await planId(t, 'pro')}`, { token: admin.access_token, body: { live_trading: true } });

    // Disconnecting the exchange: starting a stopped live bot is refused.
    await t.request('POST', `/api/bots/${live.body.id as string}/stop`, { token: u.access_token });
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
    const start = await t.request('POST', `/api/bots/${live.body.id as string}/start`, { token: u.access_token });
    expect({ status: start.status, code: start.body.code }).toEqual({ status: 400, code: 'exchange_not_connected' });
  });

  it('max trading pairs counts distinct symbols of running bots', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    await t.db.dataSource.query(`UPDATE subscription_plans SET max_trading_pairs = 1, max_bots = 3 WHERE code = 'pro'`);
    try {
      expect((await createBot(t, u, { symbol: 'BTC/USDT' })).status).toBe(201);
      expect((await createBot(t, u, { symbol: 'BTC/USDT', name: 'same pair' })).status).toBe(201);
      const other = await createBot(t, u, { symbol: 'ETH/USDT' });
      expect({ status: other.status, code: other.body.code }).toEqual({ status: 403, code: 'plan_limit' });
    } finally {
      await t.db.dataSource.query(`UPDATE subscription_plans SET max_trading_pairs = NULL WHERE code = 'pro'`);
    }
  });

  it("another user's bot or webhook is 404 everywhere", async () => {
    const owner = await t.register();
    await subscribe(t, owner, 'free');
    const bot = await createBot(t, owner);
    const hook = await generateWebhook(t, owner, bot.body.id as string);
    const other = await t.register();
    await subscribe(t, other, 'free');
    const id = bot.body.id as string;
    for (const [method, path] of [
      ['GET', `/api/bots/${id}`],
      ['POST', `/api/bots/${id}/start`],
      ['POST', `/api/bots/${id}/stop`],
      ['DELETE', `/api/bots/${id}`],
      ['POST', `/api/custom-bot/webhooks/${hook.id}/rotate`],
      ['DELETE', `/api/custom-bot/webhooks/${hook.id}`],
      ['GET', `/api/custom-bot/webhooks/${hook.id}/events`],
    ]) {
      const res = await t.request(method, path, { token: other.access_token });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    const gen = await t.request('POST', '/api/custom-bot/webhook/generate', { token: other.access_token, body: { bot_id: id } });
    expect(gen.status).toBe(404);
    expect((await t.request<{ total: number }>('GET', '/api/custom-bot/webhooks', { token: other.access_token })).body.total).toBe(0);
    // The owner's bot is untouched.
    expect((await t.request('GET', `/api/bots/${id}`, { token: owner.access_token })).body).toMatchObject({ status: 'running' });
  });

  it('one active webhook per bot: a second generate is 409, after deactivation a new one can be generated', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u);
    const first = await generateWebhook(t, u, bot.body.id as string);
    const again = await t.request('POST', '/api/custom-bot/webhook/generate', { token: u.access_token, body: { bot_id: bot.body.id } });
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'webhook_exists' });
    expect((await t.request('DELETE', `/api/custom-bot/webhooks/${first.id}`, { token: u.access_token })).status).toBe(204);
    const second = await generateWebhook(t, u, bot.body.id as string, { max_lag_seconds: 30 });
    expect(second.webhook_secret).not.toBe(first.webhook_secret);
    const list = await t.request<{ items: Array<{ id: string; is_active: boolean; max_lag_seconds: number }> }>('GET', '/api/custom-bot/webhooks', { token: u.access_token });
    expect(list.body.items.map((w) => [w.id, w.is_active, w.max_lag_seconds])).toEqual([
      [second.id, true, 30],
      [first.id, false, 300],
    ]);
    // max_lag is per webhook.
    const stale = await sendAlert(t, second.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.01', price: '1', timestamp: timenow(-60_000) });
    expect(stale.body.code).toBe('stale_signal');
  });

  it('rate limit per webhook → 429, logged', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u);
    const hook = await generateWebhook(t, u, bot.body.id as string, { rate_limit_per_minute: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.01', price: '1', alert_id: `r${i}` })).status);
    }
    expect(statuses).toEqual([202, 202, 429]);
    const events = await eventRows(t, hook.id);
    expect(events.map((e) => e.reason)).toEqual([null, null, 'rate_limited']);
  });

  it('no webhook secret reaches a log line', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u);
    const hook = await generateWebhook(t, u, bot.body.id as string);
    expect((await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.01', price: '1', secret: hook.webhook_secret })).status).toBe(202);
    expect((await sendAlert(t, hook.webhook_secret, '{"secret": "' + hook.webhook_secret + '", "action": ')).status).toBe(400);
    expect(t.logs.text()).not.toContain(hook.webhook_secret);
    expect(t.logs.text()).not.toContain(account.secret);
    const secrets = (await t.db.dataSource.query(`SELECT body FROM webhook_events WHERE body LIKE '%secret%'`)) as Array<{ body: string }>;
    for (const s of secrets) expect(s.body).toContain('[redacted]');
  });
});
