/**
 * Edge cases of bots and webhook receive found in a review (each failed before its fix): an alert in
 * flight while the bot stops, oversell by close, placeholder alert ids, exact JSON numbers, secrets
 * in the request log, limits at webhook generation, the market list refresh failing.
 */
import { MarketCatalog } from '@torgovo/custom-bots';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';
import { connectNewOkxAccount, countRows, createBot, fillOrder, generateWebhook, Generated, orderById, sendAlert, subscribe, TestUser, timenow } from './support';

describe('custom bots and webhook receive: edge cases (e2e, real PostgreSQL)', () => {
  let okx: FakeOkxServer;
  let t: TestApp;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ OKX_API_URL: okx.url });
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  /** A new user on the free plan with one running paper bot (BTC/USDT, quote 100) and its webhook. */
  async function freshBot(): Promise<{ user: TestUser; botId: string; hook: Generated }> {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u);
    expect(bot.status).toBe(201);
    return { user: u, botId: bot.body.id as string, hook: await generateWebhook(t, u, bot.body.id as string) };
  }

  it('an alert in flight when the bot is stopped must not create an order after POST /stop returned', async () => {
    const f = await freshBot();
    // Hold the alert between its lookup (bot running) and its write: INSERT INTO webhook_dedupe waits on this lock.
    const blocker = t.db.dataSource.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('LOCK TABLE webhook_dedupe IN SHARE MODE');
    let inFlight: ReturnType<typeof sendAlert>;
    try {
      inFlight = sendAlert(t, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.01', alert_id: 'in-flight-1' });
      for (let i = 0; i < 200; i++) {
        const [row] = (await t.db.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO webhook_dedupe%'`,
        )) as Array<{ n: number }>;
        if (row.n > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const stopped = await t.request('POST', `/api/bots/${f.botId}/stop`, { token: f.user.access_token });
      expect(stopped.body).toMatchObject({ status: 'stopped', stop_reason: 'user' });
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    const res = await inFlight!;
    // The bot was stopped (and the user told so) before this order row was committed.
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'bot_stopped' });
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(0);
  });

  it('close while a quote-sized sell is still pending must not promise the whole position again (oversell)', async () => {
    const f = await freshBot(); // sizing: quote 100 USDT
    const send = (body: Record<string, string>) => sendAlert(t, f.hook.webhook_secret, { ticker: 'BTCUSDT', price: '3000', ...body });
    const buy = await send({ action: 'buy', quantity: '2', alert_id: 'b1' });
    expect(buy.status).toBe(202);
    await fillOrder(t, buy.body.order_id as string, '2');
    // A sell without quantity takes the bot's sizing: 100 USDT worth of BTC, still pending.
    const sell = await send({ action: 'sell', alert_id: 's1' });
    expect(sell.status).toBe(202);
    expect(await orderById(t, sell.body.order_id as string)).toMatchObject({ side: 'sell', amount: null, quote_amount: '100.000000000000000000', status: 'pending' });
    const close = await send({ action: 'close', alert_id: 'c1' });
    expect(close.status).toBe(202);
    // Nothing is promised at receive time: the close records "100 % of the position" and the executor
    // sizes it after the sell before it has executed, from what is left (test/orders/placement-rule.e2e-spec.ts).
    expect(await orderById(t, close.body.order_id as string)).toMatchObject({ side: 'sell', amount: null, position_percent: '100.000000000000000000' });
  });

  it('an alert_id left as a TradingView placeholder is not a real id: later alerts must not all be duplicates', async () => {
    const f = await freshBot();
    const first = await sendAlert(t, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.01', alert_id: '{{strategy.order.id}}' });
    expect(first.status).toBe(202);
    const second = await sendAlert(t, f.hook.webhook_secret, { action: 'sell', ticker: 'BTCUSDT', price: '120', quantity: '0.02', alert_id: '{{strategy.order.id}}' });
    // A different alert (other action, price, quantity): not a duplicate of the first.
    expect({ status: second.status, status_field: second.body.status }).toEqual({ status: 202, status_field: 'accepted' });
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(2);
  });

  it('a JSON number below 1e-6 is a valid decimal price, not "must be a decimal number"', async () => {
    const f = await freshBot();
    // "price": {{close}} without quotes, as many TradingView messages are written; a sub-micro price (SATS, BONK...).
    const res = await sendAlert(t, f.hook.webhook_secret, '{"action": "buy", "ticker": "BTCUSDT", "price": 0.0000005, "quantity": "1", "order_type": "limit"}');
    expect({ status: res.status, details: res.body.details }).toEqual({ status: 202, details: undefined });
    expect((await orderById(t, res.body.order_id as string)).price).toBe('0.000000500000000000');
  });

  it('a JSON number quantity with more than 17 significant digits is not silently rounded through a float', async () => {
    const f = await freshBot();
    const res = await sendAlert(t, f.hook.webhook_secret, '{"action": "buy", "ticker": "BTCUSDT", "price": "100", "quantity": 0.123456789012345678}');
    // The exact amount, never a float's rounding (0.12345678901234568).
    const outcome = res.status === 202 ? (await orderById(t, res.body.order_id as string)).amount : res.status;
    expect(outcome).toBe('0.123456789012345678');
  });

  describe('the webhook secret is never stored in the request log', () => {
    it('a valid alert longer than 10 KB whose secret straddles the cut', async () => {
      const f = await freshBot();
      const secret = f.hook.webhook_secret;
      const head = '{"action": "buy", "ticker": "BTCUSDT", "price": "100", "quantity": "0.01", "note": "';
      const beforeSecret = '", "secret": "';
      const pad = 'x'.repeat(10 * 1024 - head.length - beforeSecret.length - 40);
      const body = `${head}${pad}${beforeSecret}${secret}"}`;
      const res = await sendAlert(t, secret, body);
      expect(res.status).toBe(202);
      const events = await t.request<{ items: Array<{ body: string }> }>('GET', `/api/custom-bot/webhooks/${f.hook.id}/events`, { token: f.user.access_token });
        const logged = events.body.items[0].body;
      expect(logged.slice(logged.lastIndexOf('"secret"'))).not.toContain(secret.slice(0, 20));
    });

    it('a body that is not strict JSON (single quotes) is logged with the secret masked', async () => {
      const f = await freshBot();
      const secret = f.hook.webhook_secret;
      const res = await sendAlert(t, secret, `{'action': 'buy', 'ticker': 'BTCUSDT', 'quantity': '0.01', 'secret': '${secret}'}`);
      expect(res.status).toBe(400);
      const [row] = (await t.db.dataSource.query('SELECT body FROM webhook_events WHERE webhook_id = $1', [f.hook.id])) as Array<{ body: string }>;
      expect(row.body).not.toContain(secret);
    });
  });

  it('a bot name of only spaces is refused (400), not stored as an empty name', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const res = await createBot(t, u, { name: '   ' });
    expect({ status: res.status, name: res.body.name }).toEqual({ status: 400, name: undefined });
  });

  it('webhook generation enforces max_bots (DESIGN: limits are checked on webhook generation)', async () => {
    const u = await t.register();
    await subscribe(t, u, 'enterprise');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const b = await createBot(t, u, { name: `bot ${i}` });
      expect(b.status).toBe(201);
      ids.push(b.body.id as string);
    }
    // Downgrade to Pro (3 bots): the 4 bots keep running.
    await subscribe(t, u, 'pro');
    const gen = await t.request('POST', '/api/custom-bot/webhook/generate', { token: u.access_token, body: { bot_id: ids[0] } });
    expect({ status: gen.status, code: gen.body.code }).toEqual({ status: 403, code: 'plan_limit' });
  });

  it('a live alert during a failed hourly market-list refresh is served from the cached list, not refused 503', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    await connectNewOkxAccount(t, okx, u);
    const bot = await createBot(t, u, { mode: 'live', symbol: 'BTC/USDT' }); // loads and caches the OKX market list
    expect(bot.status).toBe(201);
    const hook = await generateWebhook(t, u, bot.body.id as string);
    // An hour later the list is due for a refresh, and OKX's public instruments endpoint has a hiccup.
    const cache = (t.app.get(MarketCatalog) as unknown as { live: Map<string, { loadedAt: number }> }).live;
    cache.get('okx')!.loadedAt -= 60 * 60 * 1000 + 1000;
    okx.inject('server_error', { path: '/api/v5/public/instruments', times: 1000 });
    try {
      const res = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', timestamp: timenow() });
      // market-catalog.service.ts: "Keep serving an old list if there was one". TradingView never retries: a 503 loses the signal.
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 202, code: undefined });
    } finally {
      okx.clearFaults();
    }
  });
});
