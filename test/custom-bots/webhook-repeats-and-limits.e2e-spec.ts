import { createTestApp, HttpResult, TestApp } from '../support/app';
import { countRows, createBot, eventRows, generateWebhook, Generated, sendAlert, subscribe, TestUser, timenow } from './support';

/** TradingView's published webhook senders. */
const TRADINGVIEW_IP = '52.89.214.238';
const WINDOW_SECONDS = 2;

/** What TradingView posts for the generated template: each {{placeholder}} replaced, byte for byte. */
function fromTemplate(template: Record<string, string>, values: Record<string, string>): string {
  return JSON.stringify(template, null, 2).replace(/\{\{([a-z_.]+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}

describe('TradingView webhooks: repeats, every shape of the URL, limits (e2e, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      // Requests carry X-Forwarded-For as TradingView's traffic does behind a proxy.
      TRUSTED_PROXIES: '127.0.0.1',
      WEBHOOK_RATE_LIMIT_PER_IP: '100',
      WEBHOOK_RATE_LIMIT_PER_USER: '60',
      WEBHOOK_DEDUPE_WINDOW_SECONDS: String(WINDOW_SECONDS),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function freshBot(extra: Record<string, unknown> = {}): Promise<{ user: TestUser; botId: string; hook: Generated }> {
    const user = await t.register();
    await subscribe(t, user, 'free');
    const bot = await createBot(t, user, { sizing: { type: 'base', value: '0.001' } });
    expect(bot.status).toBe(201);
    const botId = bot.body.id as string;
    return { user, botId, hook: await generateWebhook(t, user, botId, extra) };
  }

  function from(ip: string, secret: string, body: string | Record<string, unknown>): Promise<HttpResult> {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return t.request('POST', `/api/custom-bot/webhook/receive/${secret}`, { raw, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-forwarded-for': ip } });
  }

  describe('repeats', () => {
    it("a strategy's buy and sell in the same second, sent with the generated template → two orders; each re-sent → 200 duplicate with its order", async () => {
      const f = await freshBot();
      const ts = timenow();
      const bar = { ticker: 'BTCUSDT', interval: '60', timenow: ts, close: '65000.5', 'strategy.order.contracts': '0.002' };
      const buy = fromTemplate(f.hook.tradingview_json, { ...bar, 'strategy.order.action': 'buy', 'strategy.order.id': 'Long' });
      const sell = fromTemplate(f.hook.tradingview_json, { ...bar, 'strategy.order.action': 'sell', 'strategy.order.id': 'Long Exit' });
      const a = await sendAlert(t, f.hook.webhook_secret, buy);
      const b = await sendAlert(t, f.hook.webhook_secret, sell);
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(b.body.order_id).not.toBe(a.body.order_id);
      const sides = (await t.db.dataSource.query(`SELECT side FROM orders WHERE bot_id = $1 ORDER BY created_at`, [f.botId])) as Array<{ side: string }>;
      expect(sides.map((o) => o.side)).toEqual(['buy', 'sell']);

      // TradingView sending the same alert again (a retry): the first order, nothing new.
      const ordersBefore = await countRows(t, 'orders');
      const again = await sendAlert(t, f.hook.webhook_secret, sell);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ status: 'duplicate', order_id: b.body.order_id });
      expect(await countRows(t, 'orders')).toBe(ordersBefore);
      const events = await eventRows(t, f.hook.id);
      expect(events.map((e) => [e.outcome, e.order_id])).toEqual([
        ['accepted', a.body.order_id],
        ['accepted', b.body.order_id],
        ['duplicate', b.body.order_id],
      ]);
    });

    it('the same body without alert_id: a repeat within the window, a new alert after it', async () => {
      const f = await freshBot();
      const body = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '100', quantity: '0.001' });
      const first = await sendAlert(t, f.hook.webhook_secret, body);
      expect(first.status).toBe(202);
      const retry = await sendAlert(t, f.hook.webhook_secret, body);
      expect(retry.body).toEqual({ status: 'duplicate', order_id: first.body.order_id });
      await new Promise((r) => setTimeout(r, WINDOW_SECONDS * 1000 + 300));
      const later = await sendAlert(t, f.hook.webhook_secret, body);
      expect(later.status).toBe(202);
      expect(later.body.order_id).not.toBe(first.body.order_id);
      expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(2);
    });
  });

  describe('every method and shape of a receive URL', () => {
    const shapes: Array<[string, string, (secret: string) => string, number, string]> = [
      ['GET (a browser test)', 'GET', (s) => `/api/custom-bot/webhook/receive/${s}`, 405, 'method_not_allowed'],
      ['HEAD', 'HEAD', (s) => `/api/custom-bot/webhook/receive/${s}`, 405, 'method_not_allowed'],
      ['PUT', 'PUT', (s) => `/api/custom-bot/webhook/receive/${s}`, 405, 'method_not_allowed'],
      ['DELETE with a trailing slash', 'DELETE', (s) => `/api/custom-bot/webhook/receive/${s}/`, 405, 'method_not_allowed'],
      ['POST with a trailing slash', 'POST', (s) => `/api/custom-bot/webhook/receive/${s}/`, 404, 'malformed_url'],
      ['POST in upper case', 'POST', (s) => `/API/CUSTOM-BOT/WEBHOOK/RECEIVE/${s}`, 404, 'malformed_url'],
      ['GET in mixed case with a query', 'GET', (s) => `/api/Custom-Bot/webhook/Receive/${s}?test=1`, 405, 'method_not_allowed'],
      ['POST with an encoded slash', 'POST', (s) => `/api/custom-bot/webhook/receive%2F${s}`, 404, 'malformed_url'],
      ['POST with an extra segment', 'POST', (s) => `/api/custom-bot/webhook/receive/${s}/extra`, 404, 'malformed_url'],
    ];

    it.each(shapes)('%s → answered without the path, logged masked, recorded against the webhook', async (_label, method, path, status, reason) => {
      const f = await freshBot();
      const secret = f.hook.webhook_secret;
      const logsBefore = t.logs.lines.length;
      const res = await t.request(method, path(secret), { headers: method === 'POST' ? { 'content-type': 'text/plain' } : {} });
      expect(res.status).toBe(status);
      expect(res.text).not.toContain(secret);
      expect(JSON.stringify(res.headers)).not.toContain(secret);
      if (method !== 'HEAD') expect(res.body).toMatchObject({ statusCode: status, code: reason === 'malformed_url' ? 'not_found' : reason, request_id: expect.any(String) });
      if (status === 405) expect(res.headers.allow).toBe('POST');
      const events = await eventRows(t, f.hook.id);
      expect(events).toEqual([expect.objectContaining({ outcome: 'rejected', status_code: status, reason, order_id: null })]);
      // The request was logged (masked), and no line anywhere holds the secret.
      const lines = t.logs.lines.slice(logsBefore).join('\n');
      expect(lines).toMatch(/receive\/\[redacted\]/i);
      expect(t.logs.text()).not.toContain(secret);
      expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(0);
    });

    it('a GET to a receive URL whose secret matches nothing → 405, logged without a webhook', async () => {
      const unknown = 'A'.repeat(43);
      const before = (await eventRows(t, null)).length;
      const res = await t.request('GET', `/api/custom-bot/webhook/receive/${unknown}`);
      expect(res.status).toBe(405);
      expect(res.text).not.toContain(unknown);
      expect(await eventRows(t, null)).toHaveLength(before + 1);
      expect(t.logs.text()).not.toContain(unknown);
    });

    it('the exact URL by POST still trades', async () => {
      const f = await freshBot();
      expect((await sendAlert(t, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '1' })).status).toBe(202);
    });
  });

  describe('limits', () => {
    it("1,000 alerts from TradingView's address for 20 users: none refused by the per-address limit; one webhook over its own limit gets 429 with Retry-After, the others do not", async () => {
      const bots = await Promise.all(Array.from({ length: 20 }, () => freshBot()));
      const jobs = bots.flatMap((f, u) => Array.from({ length: 50 }, (_, i) => () => from(TRADINGVIEW_IP, f.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '1', alert_id: `u${u}-${i}` })));
      const statuses: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < jobs.length) statuses.push((await jobs[next++]()).status);
        }),
      );
      expect(statuses).toHaveLength(1000);
      expect(statuses.filter((s) => s !== 202)).toEqual([]);
      // The running counters, updated by 8 concurrent writers, match the log exactly.
      const mismatched = (await t.db.dataSource.query(
        `SELECT e.bot_id FROM (SELECT bot_id, count(*) AS n, count(*) FILTER (WHERE outcome = 'accepted') AS a FROM webhook_events WHERE bot_id IS NOT NULL GROUP BY bot_id) e
           LEFT JOIN bot_signal_rollups r ON r.bot_id = e.bot_id
          WHERE r.signals_received IS DISTINCT FROM e.n OR r.orders_created IS DISTINCT FROM e.a`,
      )) as unknown[];
      expect(mismatched).toEqual([]);
      const listed = await t.request<{ items: Array<Record<string, unknown>> }>('GET', '/api/bots', { token: bots[3].user.access_token });
      expect(listed.body.items).toEqual([expect.objectContaining({ id: bots[3].botId, signals_received: 50, orders_created: 50, last_signal_at: expect.any(String) })]);

      // One webhook with a limit of 5 a minute: the 6th is refused, with when to retry.
      const busy = await freshBot({ rate_limit_per_minute: 5 });
      const busyResults: HttpResult[] = [];
      for (let i = 0; i < 7; i++) busyResults.push(await from(TRADINGVIEW_IP, busy.hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '1', alert_id: `busy-${i}` }));
      expect(busyResults.map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 429, 429]);
      const refused = busyResults[5];
      expect(refused.body).toMatchObject({ code: 'rate_limited', message: 'Too many alerts for this webhook' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await eventRows(t, busy.hook.id)).map((e) => e.reason)).toEqual([null, null, null, null, null, 'rate_limited', 'rate_limited']);
      // Everyone else, from the same address, still trades.
      const other = await from(TRADINGVIEW_IP, bots[0].hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '1', alert_id: 'after-busy' });
      expect(other.status).toBe(202);
      // 1,000 real requests: ~20 s on an idle 2-core box, past 60 s when it is oversubscribed.
    }, 240_000);

    it('an address that is not TradingView is limited per address (before any lookup)', async () => {
      const ip = '203.0.113.7';
      const unknown = 'B'.repeat(43);
      for (let i = 0; i < 100; i++) expect((await from(ip, unknown, { action: 'buy' })).status).toBe(404);
      const res = await from(ip, unknown, { action: 'buy' });
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ code: 'rate_limited', message: 'Too many alerts from this address' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it("one user is limited across all their webhooks (WEBHOOK_RATE_LIMIT_PER_USER); a webhook's own refusals do not use up the user's budget", async () => {
      const user = await t.register();
      await subscribe(t, user, 'pro');
      const hooks: Generated[] = [];
      for (const limit of [100_000, 100_000, 2]) {
        const bot = await createBot(t, user, { sizing: { type: 'base', value: '0.001' } });
        expect(bot.status).toBe(201);
        hooks.push(await generateWebhook(t, user, bot.body.id as string, { rate_limit_per_minute: limit }));
      }
      let n = 0;
      const alert = (h: Generated) => from(TRADINGVIEW_IP, h.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '1', alert_id: `p${n++}` });
      // The small webhook: 2 accepted, 8 refused by its own limit.
      const small: number[] = [];
      for (let i = 0; i < 10; i++) small.push((await alert(hooks[2])).status);
      expect(small).toEqual([202, 202, 429, 429, 429, 429, 429, 429, 429, 429]);
      // 58 more on the two others make 60 for the user: all accepted.
      const rest: number[] = [];
      for (let i = 0; i < 58; i++) rest.push((await alert(hooks[i % 2])).status);
      expect(rest.filter((s) => s !== 202)).toEqual([]);
      const over = await alert(hooks[0]);
      expect(over.status).toBe(429);
      expect(over.body).toMatchObject({ code: 'rate_limited', message: 'Too many alerts for this account' });
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const events = await eventRows(t, hooks[0].id);
      expect(events[events.length - 1]).toMatchObject({ reason: 'rate_limited', status_code: 429 });
      // Another user is not affected.
      const g = await freshBot();
      expect((await alert(g.hook)).status).toBe(202);
    });
  });
});
