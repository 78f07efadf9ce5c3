import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';
import {
  connectNewOkxAccount,
  countRows,
  createBot,
  eventRows,
  fillOrder,
  generateWebhook,
  Generated,
  orderById,
  sendAlert,
  subscribe,
  TestUser,
  timenow,
} from './support';

/** TradingView's message after placeholder substitution, byte for byte as it posts it. */
const tradingViewBody = (secret: string, over: Record<string, string> = {}): string => {
  const ts = timenow();
  const fields = { action: 'buy', ticker: 'BTCUSDT', price: '65000.5', quantity: '0.01', alert_id: `${ts}-${Math.random()}`, timestamp: ts, secret, ...over };
  return `{\n  "action": "${fields.action}",\n  "ticker": "${fields.ticker}",\n  "price": "${fields.price}",\n  "quantity": "${fields.quantity}",\n  "alert_id": "${fields.alert_id}",\n  "timestamp": "${fields.timestamp}",\n  "secret": "${fields.secret}"\n}`;
};

describe('TradingView webhook receive (e2e, real PostgreSQL)', () => {
  let okx: FakeOkxServer;
  let t: TestApp;
  let user: TestUser;
  let botId: string;
  let hook: Generated;

  beforeAll(async () => {
    // Live bots resolve their symbols from (and connect to) this fake; paper bots never call it.
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ OKX_API_URL: okx.url });
    user = await t.register();
    await subscribe(t, user, 'free');
    const bot = await createBot(t, user, { symbol: 'BTC-USDT', sizing: { type: 'quote', value: '100' } });
    expect(bot.status).toBe(201);
    botId = bot.body.id as string;
    hook = await generateWebhook(t, user, botId);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  /** Sends, then checks the one event row this request wrote and that no order was added. */
  async function expectRejected(
    secret: string,
    body: string | Record<string, unknown>,
    status: number,
    reason: string,
    opts: { contentType?: string | null; webhookId?: string | null } = {},
  ): Promise<void> {
    const webhookId = opts.webhookId === undefined ? hook.id : opts.webhookId;
    const ordersBefore = await countRows(t, 'orders');
    const eventsBefore = (await eventRows(t, webhookId)).length;
    const res = await sendAlert(t, secret, body, opts.contentType);
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code: reason });
    expect(res.body).toMatchObject({ statusCode: status, request_id: expect.any(String) });
    const events = await eventRows(t, webhookId);
    expect(events).toHaveLength(eventsBefore + 1);
    expect(events[events.length - 1]).toMatchObject({ outcome: 'rejected', status_code: status, reason, order_id: null });
    expect(await countRows(t, 'orders')).toBe(ordersBefore);
  }

  it('generate returns the URL, the secret once and the TradingView message template', async () => {
    expect(hook.webhook_url).toBe(`http://localhost:3000/api/custom-bot/webhook/receive/${hook.webhook_secret}`);
    expect(hook.webhook_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hook.tradingview_json).toEqual({
      action: '{{strategy.order.action}}',
      ticker: '{{ticker}}',
      price: '{{close}}',
      quantity: '{{strategy.order.contracts}}',
      alert_id: '{{timenow}}-{{ticker}}-{{interval}}-{{strategy.order.id}}-{{strategy.order.action}}',
      timestamp: '{{timenow}}',
      secret: hook.webhook_secret,
    });
    const stored = (await t.db.dataSource.query('SELECT secret_hash FROM bot_webhooks WHERE id = $1', [hook.id])) as Array<{ secret_hash: string }>;
    expect(stored[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].secret_hash).not.toContain(hook.webhook_secret);
    const list = await t.request<{ items: Array<Record<string, unknown>> }>('GET', '/api/custom-bot/webhooks', { token: user.access_token });
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(hook.webhook_secret);
  });

  it.each([
    ['text/plain', 'text/plain; charset=utf-8'],
    ['application/json', 'application/json'],
    ['no content type', null],
  ])('accepts the alert exactly as TradingView sends it (%s) → 202 and one pending order', async (_label, contentType) => {
    const body = tradingViewBody(hook.webhook_secret);
    const res = await sendAlert(t, hook.webhook_secret, body, contentType);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', order_id: expect.any(String) });
    const order = await orderById(t, res.body.order_id as string);
    expect(order).toMatchObject({ bot_id: botId, source: 'webhook', mode: 'paper', exchange: 'paper', symbol: 'BTC/USDT', side: 'buy', type: 'market', status: 'pending' });
    expect(order.amount).toBe('0.010000000000000000');
    expect(order.price).toBe('65000.500000000000000000');
    const events = await eventRows(t, hook.id);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ outcome: 'accepted', status_code: 202, order_id: res.body.order_id, ip: '127.0.0.1' });
    // The log keeps the body but never the secret.
    expect(last.body).toContain('"ticker": "BTCUSDT"');
    expect(last.body).not.toContain(hook.webhook_secret);
  });

  it.each(['BTCUSDT', 'OKX:BTCUSDT', 'BTC-USDT', 'BTC/USDT'])('ticker %s resolves to BTC/USDT', async (ticker) => {
    const res = await sendAlert(t, hook.webhook_secret, tradingViewBody(hook.webhook_secret, { ticker }));
    expect(res.status).toBe(202);
    expect((await orderById(t, res.body.order_id as string)).symbol).toBe('BTC/USDT');
  });

  /** A new user on the free plan with one running paper bot and its webhook. */
  async function freshBot(body: Parameters<typeof createBot>[2] = {}): Promise<{ user: TestUser; botId: string; hook: Generated }> {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u, body);
    expect(bot.status).toBe(201);
    return { user: u, botId: bot.body.id as string, hook: await generateWebhook(t, u, bot.body.id as string) };
  }

  it('buy/long buy, sell/short sell, close/exit sell the open position; percent sizes from balance and position', async () => {
    const f = await freshBot({ symbol: 'ETH/USDT', sizing: { type: 'base', value: '0.25' } });
    const send = async (over: Record<string, string>) => {
      const res = await sendAlert(t, f.hook.webhook_secret, tradingViewBody(f.hook.webhook_secret, { ticker: 'ETHUSDT', price: '3000', ...over }));
      expect(res.status).toBe(202);
      return orderById(t, res.body.order_id as string);
    };
    const buy = await send({ action: 'buy', quantity: '2' });
    expect(buy).toMatchObject({ side: 'buy', amount: '2.000000000000000000', quote_amount: null });
    const long = await send({ action: 'long', quantity: '{{strategy.order.contracts}}' });
    expect(long).toMatchObject({ side: 'buy', amount: '0.250000000000000000' });
    // 50% of what the two queued buys (6000 + 750 USDT, not executed yet) leave of the 10000 USDT.
    const pct = await send({ action: 'buy', quantity: '50%' });
    expect(pct).toMatchObject({ side: 'buy', amount: null, quote_amount: '1625.000000000000000000' });

    // Nothing filled yet: no position to close.
    await expectRejectedOn(f.hook, { action: 'close' }, 422, 'no_position');
    await fillOrder(t, buy.id as string, '2');
    await fillOrder(t, long.id as string, '0.25');

    const sell = await send({ action: 'sell', quantity: '0.5' });
    expect(sell).toMatchObject({ side: 'sell', amount: '0.500000000000000000' });
    const short = await send({ action: 'short', quantity: '10%' });
    // 2.25 held, 0.5 already promised to the pending sell: 10% of 1.75.
    expect(short).toMatchObject({ side: 'sell', amount: '0.175000000000000000' });
    await fillOrder(t, sell.id as string, '0.5');
    await fillOrder(t, short.id as string, '0.175');
    const close = await send({ action: 'close' });
    expect(close).toMatchObject({ side: 'sell', amount: '1.575000000000000000' });
    // exit after close: the pending close already takes the whole position.
    await expectRejectedOn(f.hook, { action: 'exit' }, 422, 'no_position');
    await fillOrder(t, close.id as string, '1.575');
    await fillOrder(t, pct.id as string, '1');
    const exit = await send({ action: 'exit' });
    expect(exit).toMatchObject({ side: 'sell', amount: '1.000000000000000000' });
  });

  it('a live bot: a percent buy is accepted at once and carries its percent for the worker; a percent sell sizes from the position', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    await connectNewOkxAccount(t, okx, u);
    const bot = await createBot(t, u, { mode: 'live', symbol: 'ETH/USDT', sizing: { type: 'percent_balance', value: '10' } });
    expect(bot.status).toBe(201);
    const h = await generateWebhook(t, u, bot.body.id as string);
    const okxCalls = okx.requests.length;
    const send = async (over: Record<string, string>, status = 202) => {
      const res = await sendAlert(t, h.webhook_secret, tradingViewBody(h.webhook_secret, { ticker: 'ETHUSDT', ...over }));
      expect(res.status).toBe(status);
      return { res, order: await orderById(t, res.body.order_id as string) };
    };

    const body = tradingViewBody(h.webhook_secret, { ticker: 'ETHUSDT', action: 'buy', quantity: '50%', price: '{{close}}' });
    const first = await sendAlert(t, h.webhook_secret, body);
    expect(first.status).toBe(202);
    const half = await orderById(t, first.body.order_id as string);
    expect(half).toMatchObject({
      mode: 'live', exchange: 'okx', symbol: 'ETH/USDT', side: 'buy', status: 'pending', price: null,
      amount: null, quote_amount: null, quote_percent: '50.000000000000000000',
    });
    // The same alert again is a duplicate, as on the single-statement path of any known size.
    expect((await sendAlert(t, h.webhook_secret, body)).body).toEqual({ status: 'duplicate', order_id: first.body.order_id });
    // No quantity: the bot's percent_balance sizing.
    const byBot = await send({ action: 'buy', quantity: '{{strategy.order.contracts}}' });
    expect(byBot.order).toMatchObject({ amount: null, quote_amount: null, quote_percent: '10.000000000000000000' });
    // Accepting never called the exchange: the balance is read by the worker when it places the order.
    expect(okx.requests.length).toBe(okxCalls);

    // Sells size from the bot's own position, live as on paper.
    await expectRejectedOn(h, { action: 'sell', quantity: '50%' }, 422, 'no_position');
    await fillOrder(t, half.id as string, '0.16');
    const sell = await send({ action: 'sell', quantity: '25%' });
    expect(sell.order).toMatchObject({ side: 'sell', amount: '0.040000000000000000', quote_amount: null, quote_percent: null });
    const close = await send({ action: 'close' });
    expect(close.order).toMatchObject({ side: 'sell', amount: '0.120000000000000000', quote_percent: null });
  });

  async function expectRejectedOn(h: Generated, over: Record<string, string>, status: number, reason: string): Promise<void> {
    const before = await countRows(t, 'orders');
    const res = await sendAlert(t, h.webhook_secret, tradingViewBody(h.webhook_secret, { ticker: 'ETHUSDT', ...over }));
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code: reason });
    const events = await eventRows(t, h.id);
    expect(events[events.length - 1]).toMatchObject({ outcome: 'rejected', reason, status_code: status });
    expect(await countRows(t, 'orders')).toBe(before);
  }

  it('the same alert sent 5 times at once → one order; the 4 others are duplicates answered with it', async () => {
    const f = await freshBot();
    const body = tradingViewBody(f.hook.webhook_secret);
    const results = await Promise.all(Array.from({ length: 5 }, () => sendAlert(t, f.hook.webhook_secret, body)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 202]);
    const orderIds = new Set(results.map((r) => r.body.order_id));
    expect(orderIds.size).toBe(1);
    expect(results.filter((r) => r.body.status === 'duplicate')).toHaveLength(4);
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(1);
    const events = await eventRows(t, f.hook.id);
    expect(events.map((e) => e.outcome).sort()).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(events.every((e) => e.order_id === [...orderIds][0])).toBe(true);
  });

  it('without alert_id the same body is a duplicate; the same alert_id with another body is another alert', async () => {
    const f = await freshBot();
    const body = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.01' });
    const first = await sendAlert(t, f.hook.webhook_secret, body);
    expect(first.status).toBe(202);
    const again = await sendAlert(t, f.hook.webhook_secret, body);
    expect(again.body).toEqual({ status: 'duplicate', order_id: first.body.order_id });
    const other = await sendAlert(t, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.02' });
    expect(other.status).toBe(202);

    const a1 = await sendAlert(t, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.01', alert_id: 'tv-1' });
    const a2 = await sendAlert(t, f.hook.webhook_secret, { action: 'sell', ticker: 'BTCUSDT', price: '101', quantity: '0.01', alert_id: 'tv-1' });
    expect(a1.status).toBe(202);
    expect(a2.status).toBe(202);
    expect(a2.body.order_id).not.toBe(a1.body.order_id);
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(4);
  });

  it('a body-duplicate past its window is a new signal', async () => {
    const f = await freshBot();
    const body = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.01' });
    const first = await sendAlert(t, f.hook.webhook_secret, body);
    expect(first.status).toBe(202);
    await t.db.dataSource.query(`UPDATE webhook_dedupe SET expires_at = now() - interval '1 second' WHERE webhook_id = $1`, [f.hook.id]);
    const later = await sendAlert(t, f.hook.webhook_secret, body);
    expect(later.status).toBe(202);
    expect(later.body.order_id).not.toBe(first.body.order_id);
  });

  describe('rejections: the status of API.md, no order, exactly one event row each', () => {
    it('unknown, rotated and deactivated secrets → 404', async () => {
      await expectRejected('not-a-real-secret-but-long-enough-0123456789', tradingViewBody('x'), 404, 'not_found', { webhookId: null });
      const f = await freshBot();
      const old = f.hook.webhook_secret;
      const rotated = await t.request<Generated>('POST', `/api/custom-bot/webhooks/${f.hook.id}/rotate`, { token: f.user.access_token });
      expect(rotated.status).toBe(200);
      expect(rotated.body.webhook_secret).not.toBe(old);
      await expectRejected(old, tradingViewBody(old), 404, 'not_found', { webhookId: null });
      const ok = await sendAlert(t, rotated.body.webhook_secret, tradingViewBody(rotated.body.webhook_secret));
      expect(ok.status).toBe(202);
      expect((await t.request('DELETE', `/api/custom-bot/webhooks/${f.hook.id}`, { token: f.user.access_token })).status).toBe(204);
      await expectRejected(rotated.body.webhook_secret, tradingViewBody(rotated.body.webhook_secret), 404, 'not_found', { webhookId: null });
    });

    it('a body secret that does not match → 401', async () => {
      await expectRejected(hook.webhook_secret, tradingViewBody('wrong-secret'), 401, 'secret_mismatch');
    });

    it('malformed JSON → 400, logged with its body', async () => {
      await expectRejected(hook.webhook_secret, '{"action": "buy", "ticker": ', 400, 'malformed_json');
      await expectRejected(hook.webhook_secret, '{"action": "buy"', 400, 'malformed_json', { contentType: 'application/json' });
      await expectRejected(hook.webhook_secret, 'buy BTCUSDT now', 400, 'malformed_json');
      const events = await eventRows(t, hook.id);
      expect(events[events.length - 1].body).toBe('buy BTCUSDT now');
    });

    it('a body over 1 MB → 413, still logged', async () => {
      const huge = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', pad: 'x'.repeat(1024 * 1024) });
      await expectRejected(hook.webhook_secret, huge, 413, 'payload_too_large');
    });

    it.each([
      ['negative', '-0.01'],
      ['zero', '0'],
      ['absurd', '1000000000000000'],
      ['too many decimals', '0.0000000000000000001'],
      ['percent over 100', '250%'],
    ])('%s quantity → 400', async (_label, quantity) => {
      await expectRejected(hook.webhook_secret, tradingViewBody(hook.webhook_secret, { quantity }), 400, 'invalid_signal');
    });

    it('unknown ticker → 400 unknown_symbol; another pair than the bot trades → 400 symbol_mismatch', async () => {
      await expectRejected(hook.webhook_secret, tradingViewBody(hook.webhook_secret, { ticker: 'FOOBARUSDT' }), 400, 'unknown_symbol');
      await expectRejected(hook.webhook_secret, tradingViewBody(hook.webhook_secret, { ticker: 'ETHUSDT' }), 400, 'symbol_mismatch');
    });

    it('an unknown action or a missing ticker → 400 with field details', async () => {
      const res = await sendAlert(t, hook.webhook_secret, { action: 'hodl' });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'action' }), expect.objectContaining({ field: 'ticker' })]));
    });

    it('an alert older than max_lag → 422 stale_signal', async () => {
      await expectRejected(hook.webhook_secret, tradingViewBody(hook.webhook_secret, { timestamp: timenow(-301_000) }), 422, 'stale_signal');
      await expectRejected(hook.webhook_secret, tradingViewBody(hook.webhook_secret, { timestamp: String(Date.now() - 600_000) }), 422, 'stale_signal');
    });

    it('a stopped bot → 403 bot_stopped; started again it trades', async () => {
      const f = await freshBot();
      expect((await t.request('POST', `/api/bots/${f.botId}/stop`, { token: f.user.access_token })).body).toMatchObject({ status: 'stopped', stop_reason: 'user' });
      await expectRejected(f.hook.webhook_secret, tradingViewBody(f.hook.webhook_secret), 403, 'bot_stopped', { webhookId: f.hook.id });
      expect((await t.request('POST', `/api/bots/${f.botId}/start`, { token: f.user.access_token })).body).toMatchObject({ status: 'running' });
      expect((await sendAlert(t, f.hook.webhook_secret, tradingViewBody(f.hook.webhook_secret))).status).toBe(202);
    });

    it('an expired subscription (not swept yet) → 403 no_active_subscription', async () => {
      const u = await t.register();
      const subId = await subscribe(t, u, 'pro');
      const bot = await createBot(t, u);
      const h = await generateWebhook(t, u, bot.body.id as string);
      await t.db.dataSource.query(`UPDATE user_subscriptions SET end_date = now() - interval '1 minute' WHERE id = $1`, [subId]);
      await expectRejected(h.webhook_secret, tradingViewBody(h.webhook_secret), 403, 'no_active_subscription', { webhookId: h.id });
    });

    it('a cancelled subscription stops the bots (set-wise listener) → 403 bot_stopped with the reason', async () => {
      const u = await t.register();
      const subId = await subscribe(t, u, 'free');
      const bot = await createBot(t, u);
      const h = await generateWebhook(t, u, bot.body.id as string);
      expect((await t.request('DELETE', `/api/subscriptions/${subId}`, { token: u.access_token })).status).toBe(200);
      const after = await t.request('GET', `/api/bots/${bot.body.id as string}`, { token: u.access_token });
      expect(after.body).toMatchObject({ status: 'stopped', stop_reason: 'subscription_cancelled_by_user' });
      await expectRejected(h.webhook_secret, tradingViewBody(h.webhook_secret), 403, 'bot_stopped', { webhookId: h.id });
    });

    it('the event log lists every request of the webhook, newest first, to its owner only', async () => {
      const res = await t.request<{ items: Array<Record<string, unknown>>; total: number }>('GET', `/api/custom-bot/webhooks/${hook.id}/events?limit=5`, {
        token: user.access_token,
      });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe((await eventRows(t, hook.id)).length);
      expect(res.body.items).toHaveLength(5);
      // Newest first: the last request on this webhook was the second stale alert.
      expect(res.body.items[0]).toEqual(
        expect.objectContaining({ received_at: expect.any(String), ip: '127.0.0.1', outcome: 'rejected', reason: 'stale_signal', order_id: null, body: expect.stringContaining('[redacted]') }),
      );
      const other = await t.register();
      expect((await t.request('GET', `/api/custom-bot/webhooks/${hook.id}/events`, { token: other.access_token })).status).toBe(404);
      expect((await t.request('POST', `/api/custom-bot/webhooks/${hook.id}/rotate`, { token: other.access_token })).status).toBe(404);
      expect((await t.request('DELETE', `/api/custom-bot/webhooks/${hook.id}`, { token: other.access_token })).status).toBe(404);
      expect((await t.request('POST', '/api/custom-bot/webhook/generate', { token: other.access_token, body: { bot_id: botId } })).status).toBe(404);
    });

    it('bot counters come from the log', async () => {
      const res = await t.request('GET', `/api/bots/${botId}`, { token: user.access_token });
      const accepted = (await eventRows(t, hook.id)).filter((e) => e.outcome === 'accepted').length;
      expect(res.body).toMatchObject({ orders_created: accepted, signals_received: (await eventRows(t, hook.id)).length, last_signal_at: expect.any(String) });
    });
  });
});
