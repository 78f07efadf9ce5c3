import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { createBot, generateWebhook, sendAlert, subscribe } from '../custom-bots/support';
import { FakeCoinGateServer } from '../fakes/coingate/fake-coingate-server';
import { createTestApp, TestApp } from '../support/app';
import { generatedCases, HostileCase, Principals } from './hostile-cases';

/**
 * Bad input at scale (issue 17): hundreds of malformed or hostile requests across every endpoint —
 * generated from the served OpenAPI document (forged tokens on every secured operation, bad bodies
 * and bad ids on every operation taking them, another user's ids) plus a table per hostile surface
 * (the TradingView webhook, Stripe and CoinGate callbacks, money fields). Each must be answered with
 * a 4xx in the documented error shape (request() checks every response against the document),
 * write nothing but a log row (every table's row count before and after, log tables excepted), and
 * leave no secret in the logs.
 */
const JWT_SECRET = 'test-jwt-secret-0123456789abcdefghijklmnop';
/** Tables a refused request may write to: the request logs. */
const LOG_TABLES = new Set(['webhook_events', 'audit_logs', 'bot_signal_rollups']);

describe('hostile input at scale: every endpoint answers a clear 4xx and writes nothing but a log row (e2e)', () => {
  let t: TestApp;
  let coingate: FakeCoinGateServer;
  let p: Principals;
  let webhookSecret: string;
  const stripeWebhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  const password = 'attacker-password-1';
  const cases: HostileCase[] = [];
  let tables: string[] = [];

  const counts = async (): Promise<Map<string, number>> => {
    const sql = tables.map((name) => `SELECT '${name}' AS t, count(*)::int AS n FROM "${name}"`).join(' UNION ALL ');
    const rows = (await t.db.dataSource.query(sql)) as Array<{ t: string; n: number }>;
    return new Map(rows.map((r) => [r.t, r.n]));
  };

  beforeAll(async () => {
    coingate = await new FakeCoinGateServer(`cg-${randomBytes(8).toString('hex')}`).start();
    t = await createTestApp({
      STRIPE_SECRET_KEY: 'sk_test_hostile',
      STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
      STRIPE_API_URL: 'http://127.0.0.1:9',
      COINGATE_API_TOKEN: coingate.apiToken,
      COINGATE_API_URL: coingate.url,
    });
    const rows = (await t.db.dataSource.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY 1`)) as Array<{ tablename: string }>;
    tables = rows.map((r) => r.tablename).filter((n) => !LOG_TABLES.has(n));

    const attacker = await t.register(undefined, password);
    await subscribe(t, attacker, 'pro');
    const victim = await t.register();
    const subscriptionId = await subscribe(t, victim, 'pro');
    const bot = await createBot(t, victim);
    const hook = await generateWebhook(t, victim, bot.body.id as string);
    webhookSecret = hook.webhook_secret;
    const alert = await sendAlert(t, webhookSecret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '60000', alert_id: 'victim-1' });
    expect(alert.status).toBe(202);
    const admin = await t.admin();
    p = {
      user: { id: attacker.id, token: attacker.access_token },
      victim: {
        bot_id: bot.body.id as string,
        order_id: alert.body.order_id as string,
        webhook_id: hook.id,
        subscription_id: subscriptionId,
        payment_id: '0b8d7c1e-2f3a-4b5c-9d6e-7f8091a2b3c4',
        token_id: '1c9e8d2f-3a4b-4c5d-8e6f-708192a3b4c5',
      },
      admin: { token: admin.access_token },
      jwtSecret: JWT_SECRET,
    };
    cases.push(...generatedCases(t.openapi, p), ...handWritten());
  });
  afterAll(async () => {
    await t?.close();
    await coingate?.stop();
  });

  const webhookCase = (name: string, raw: string, status: number[] = [400], contentType = 'application/json'): HostileCase => ({
    name: `webhook receive: ${name}`,
    method: 'POST',
    path: `/api/custom-bot/webhook/receive/${webhookSecret}`,
    raw,
    headers: { 'content-type': contentType },
    status,
  });

  function handWritten(): HostileCase[] {
    const alert = (over: Record<string, unknown>) => JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', quantity: '0.001', price: '60000', alert_id: `h-${randomBytes(4).toString('hex')}`, ...over });
    const out: HostileCase[] = [];
    // TradingView webhook: numbers and strings that must never become an order.
    for (const [name, value] of [
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['-Infinity', '-Infinity'],
      ['1e309', '1e309'],
      ['negative', '-0.001'],
      ['zero', '0'],
      ['too many decimals', '0.0000000000000000000000000001'],
      ['hex', '0x10'],
      // (empty, blank, null or an unreplaced {{placeholder}} are "unset" by design: the bot's own sizing applies)
      ['a number with a comma', '0,001'],
      ['40 digits', '1' + '0'.repeat(40)],
      ['-0', '-0'],
      ['an object', { a: 1 }],
      ['an array', ['0.001']],
      ['true', true],
    ] as Array<[string, unknown]>) {
      out.push(webhookCase(`quantity ${name}`, alert({ quantity: value })));
      out.push(webhookCase(`price ${name}`, alert({ price: value })));
    }
    out.push(webhookCase('quantity as a bare JSON 1e309', alert({}).replace('"quantity":"0.001"', '"quantity":1e309')));
    out.push(webhookCase('quantity as bare NaN (not JSON)', alert({}).replace('"quantity":"0.001"', '"quantity":NaN'), [400], 'text/plain'));
    for (const [name, over] of [
      ['unknown action', { action: 'hodl' }],
      ['action with a NUL byte', { action: 'buy\u0000' }],
      ['ticker with control characters', { ticker: 'BTC\u0007USDT\u001b[31m' }],
      ['ticker 10 000 characters', { ticker: 'B'.repeat(10_000) }],
      ['alert_id 5 000 characters', { alert_id: 'x'.repeat(5000) }],
      ['action as a number', { action: 1 }],
      ['ticker as an array', { ticker: ['BTCUSDT'] }],
      ['a wrong body secret', { secret: 'not-the-secret' }],
    ] as Array<[string, Record<string, unknown>]>) {
      out.push(webhookCase(name, alert(over), [400, 401, 403, 413, 422]));
    }
    out.push(webhookCase('malformed JSON', '{"action":"buy",', [400]));
    out.push(webhookCase('duplicate keys (buy and sell)', alert({}).replace('"action":"buy"', '"action":"buy","action":"sell"'), [400]));
    out.push(webhookCase('quantity as a 40-digit JSON number', alert({}).replace('"quantity":"0.001"', `"quantity":1${'0'.repeat(40)}`)));
    out.push(webhookCase('price as a JSON number with 30 decimals', alert({}).replace('"price":"60000"', '"price":60000.000000000000000000000000000001')));
    out.push(webhookCase('a JSON array', '[{"action":"buy"}]', [400]));
    out.push(webhookCase('a bare string', '"buy"', [400]));
    out.push(webhookCase('an empty body', '', [400]));
    out.push(webhookCase('deeply nested', `{"action":"buy","x":${'['.repeat(20000)}${']'.repeat(20000)}}`, [400, 413]));
    out.push(webhookCase('2 MB body', JSON.stringify({ action: 'buy', pad: 'x'.repeat(2_000_000) }), [400, 413]));
    out.push(webhookCase('binary garbage as text/plain', '\u0000\u0001\u0002\u00ff\ufffd', [400], 'text/plain'));
    out.push(webhookCase('form-encoded', 'action=buy&ticker=BTCUSDT', [400], 'application/x-www-form-urlencoded'));
    out.push({ name: 'webhook receive: an unknown secret', method: 'POST', path: `/api/custom-bot/webhook/receive/${randomBytes(32).toString('base64url')}`, raw: alert({}), headers: { 'content-type': 'application/json' }, status: [404] });
    out.push({ name: 'webhook receive: a secret with path tricks', method: 'POST', path: `/api/custom-bot/webhook/receive/..%2F..%2Fadmin`, raw: alert({}), headers: { 'content-type': 'application/json' }, status: [404] });

    // Stripe: nothing is trusted without a valid, fresh signature on the raw body.
    const signer = new Stripe('sk_test_signer_only');
    const event = JSON.stringify({ id: 'evt_hostile_1', object: 'event', type: 'invoice.paid', created: Math.floor(Date.now() / 1000), data: { object: { id: 'in_hostile', object: 'invoice' } } });
    const stripeCase = (name: string, raw: string, signature?: string): HostileCase => ({
      name: `stripe webhook: ${name}`,
      method: 'POST',
      path: '/api/payments/webhook',
      raw,
      headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'stripe-signature': signature } : {}) },
      status: [400],
    });
    out.push(stripeCase('no signature', event));
    out.push(stripeCase('an empty signature', event, ''));
    out.push(stripeCase('a stale signature (1 hour old)', event, signer.webhooks.generateTestHeaderString({ payload: event, secret: stripeWebhookSecret, timestamp: Math.floor(Date.now() / 1000) - 3600 })));
    out.push(stripeCase('signed with another secret', event, signer.webhooks.generateTestHeaderString({ payload: event, secret: 'whsec_other' })));
    out.push(stripeCase('body changed after signing', event.replace('in_hostile', 'in_hostile2'), signer.webhooks.generateTestHeaderString({ payload: event, secret: stripeWebhookSecret })));
    out.push(stripeCase('a signature header of garbage', event, 't=abc,v1=zzz'));
    const signedArray = '[]';
    out.push(stripeCase('a signed body that is not an event', signedArray, signer.webhooks.generateTestHeaderString({ payload: signedArray, secret: stripeWebhookSecret })));
    out.push(stripeCase('malformed JSON, signed', '{"id":', signer.webhooks.generateTestHeaderString({ payload: '{"id":', secret: stripeWebhookSecret })));

    // CoinGate: a callback is trusted only through the payment's token and the order fetched back.
    const cg = (name: string, raw: string, contentType = 'application/x-www-form-urlencoded'): HostileCase => ({
      name: `coingate callback: ${name}`,
      method: 'POST',
      path: '/api/payments/crypto/callback',
      raw,
      headers: { 'content-type': contentType },
      status: [400],
    });
    out.push(cg('empty form', ''));
    out.push(cg('an unknown order with a forged token', 'id=999999&order_id=0b8d7c1e-2f3a-4b5c-9d6e-7f8091a2b3c4&status=paid&token=forged'));
    out.push(cg('order_id not a uuid', 'id=1&order_id=abc&status=paid&token=x'));
    out.push(cg('id not a number', 'id=abc&order_id=0b8d7c1e-2f3a-4b5c-9d6e-7f8091a2b3c4&status=paid&token=x'));
    out.push(cg('status unknown', 'id=1&order_id=0b8d7c1e-2f3a-4b5c-9d6e-7f8091a2b3c4&status=stolen&token=x'));
    out.push(cg('malformed JSON', '{"id":', 'application/json'));
    out.push(cg('a JSON array', '[1]', 'application/json'));
    out.push(cg('token with control characters', 'id=1&order_id=0b8d7c1e-2f3a-4b5c-9d6e-7f8091a2b3c4&status=paid&token=%00%1b'));

    // Money and numbers in the REST API.
    const user = p.user.token;
    const json = { 'content-type': 'application/json' };
    for (const [name, value] of [
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['1e309', '1e309'],
      ['negative', '-5'],
      ['zero', '0'],
      ['too many decimals', '1.0000000000000000000000001'],
      ['a JSON number', 100],
      ['an object', { v: 1 }],
      ['with spaces', ' 10 '],
      ['40 digits', '1' + '0'.repeat(40)],
      ['exponent', '1e3'],
    ] as Array<[string, unknown]>) {
      out.push({
        name: `POST /api/bots: sizing.value ${name}`,
        method: 'POST',
        path: '/api/bots',
        token: user,
        raw: JSON.stringify({ name: 'h', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: value } }),
        headers: json,
        status: [400],
      });
    }
    for (const [name, body] of [
      ['unknown field', { name: 'h', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' }, is_admin: true }],
      ['mode unknown', { name: 'h', symbol: 'BTC/USDT', mode: 'real', order_type: 'market', sizing: { type: 'quote', value: '10' } }],
      ['name with a NUL byte', { name: 'a\u0000b', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } }],
      ['name 10 000 characters', { name: 'n'.repeat(10_000), symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } }],
      ['symbol with SQL', { name: 'h', symbol: "BTC/USDT'; DROP TABLE bots;--", mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } }],
      ['sizing percent over 100', { name: 'h', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'percent_balance', value: '100.5' } }],
      ['sizing missing', { name: 'h', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market' }],
    ] as Array<[string, unknown]>) {
      out.push({ name: `POST /api/bots: ${name}`, method: 'POST', path: '/api/bots', token: user, raw: JSON.stringify(body), headers: json, status: [400] });
    }
    for (const [name, body] of [
      ['email wrong type', { email: 5, password: 'long-enough-pw', full_name: 'x' }],
      ['email with control characters', { email: 'a\u0000@example.com', password: 'long-enough-pw', full_name: 'x' }],
      ['password too short', { email: `s-${randomBytes(3).toString('hex')}@example.com`, password: 'short', full_name: 'x' }],
      ['password 100 000 characters', { email: `l-${randomBytes(3).toString('hex')}@example.com`, password: 'p'.repeat(100_000), full_name: 'x' }],
      ['role smuggled in', { email: `r-${randomBytes(3).toString('hex')}@example.com`, password: 'long-enough-pw', full_name: 'x', role: 'admin' }],
      ['full_name an object', { email: `o-${randomBytes(3).toString('hex')}@example.com`, password: 'long-enough-pw', full_name: { $gt: '' } }],
    ] as Array<[string, unknown]>) {
      out.push({ name: `POST /api/auth/register: ${name}`, method: 'POST', path: '/api/auth/register', raw: JSON.stringify(body), headers: json, status: [400, 413] });
    }
    for (const [name, body] of [
      ['email as an operator object', { email: { $ne: null }, password: 'x' }],
      ['wrong password', { email: 'nobody@example.com', password: 'wrong-password-1' }],
      ['password as an array', { email: 'nobody@example.com', password: ['a'] }],
    ] as Array<[string, unknown]>) {
      out.push({ name: `POST /api/auth/login: ${name}`, method: 'POST', path: '/api/auth/login', raw: JSON.stringify(body), headers: json, status: [400, 401] });
    }
    out.push({ name: 'POST /api/auth/refresh: a forged refresh token', method: 'POST', path: '/api/auth/refresh', raw: JSON.stringify({ refresh_token: randomBytes(32).toString('base64url') }), headers: json, status: [401] });
    out.push({ name: 'POST /api/auth/refresh: an access token as refresh token', method: 'POST', path: '/api/auth/refresh', raw: JSON.stringify({ refresh_token: p.user.token }), headers: json, status: [400, 401] });
    for (const [name, body] of [
      ['unsupported exchange', { exchange: 'mtgox', api_key: 'k', secret: 's', passphrase: 'p', sandbox: false }],
      ['sandbox as a string', { exchange: 'okx', api_key: 'k', secret: 's', passphrase: 'p', sandbox: 'yes' }],
      ['api_key 100 000 characters', { exchange: 'okx', api_key: 'k'.repeat(100_000), secret: 's', passphrase: 'p', sandbox: false }],
    ] as Array<[string, unknown]>) {
      out.push({ name: `POST /api/users/me/exchange: ${name}`, method: 'POST', path: '/api/users/me/exchange', token: user, raw: JSON.stringify(body), headers: json, status: [400, 413] });
    }
    for (const [name, body] of [
      ['billing_cycle unknown', { plan_id: p.victim.subscription_id, billing_cycle: 'weekly', payment_method: 'stripe' }],
      ['plan_id not a uuid', { plan_id: 'pro', billing_cycle: 'monthly', payment_method: 'none' }],
      ['plan_id unknown', { plan_id: '7d1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b', billing_cycle: 'monthly', payment_method: 'none' }],
    ] as Array<[string, unknown]>) {
      out.push({ name: `POST /api/subscriptions: ${name}`, method: 'POST', path: '/api/subscriptions', token: user, raw: JSON.stringify(body), headers: json, status: [400, 404] });
    }
    for (const [name, query] of [
      ['page NaN', 'page=NaN'],
      ['page 1e309', 'page=1e309'],
      ['page negative', 'page=-1'],
      ['limit huge', 'limit=100000000'],
      ['status unknown', 'status=stolen'],
      ['bot_id not a uuid', 'bot_id=1%20OR%201%3D1'],
    ]) {
      out.push({ name: `GET /api/orders?${name}`, method: 'GET', path: `/api/orders?${query}`, token: user, status: [400] });
    }
    out.push({ name: 'GET /api/admin/users as a user', method: 'GET', path: '/api/admin/users', token: user, status: [403] });
    out.push({ name: 'PATCH /api/admin/users/{id} as a user (self-promotion)', method: 'PATCH', path: `/api/admin/users/${p.user.id}`, token: user, raw: JSON.stringify({ role: 'admin' }), headers: json, status: [403] });
    out.push({ name: 'POST /api/subscription-plans as a user', method: 'POST', path: '/api/subscription-plans', token: user, raw: JSON.stringify({ code: 'x' }), headers: json, status: [400, 403] });
    return out;
  }

  it('has at least 250 cases, across every operation of the document', () => {
    expect(cases.length).toBeGreaterThanOrEqual(250);
    const covered = new Set(cases.map((c) => `${c.method} ${c.path.split('?')[0].replace(/[0-9a-f-]{36}|not-a-uuid|a{5000}/g, '{id}')}`));
    expect(covered.size).toBeGreaterThan(40);
  });

  it('every case: a 4xx in the documented error shape, and nothing written but a log row', async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const before = await counts();
      let res;
      try {
        res = await t.request(c.method, c.path, { raw: c.raw, token: c.token, headers: c.headers });
      } catch (error) {
        failures.push(`${c.name}: ${(error as Error).message.split('\n')[0]}`);
        continue;
      }
      const after = await counts();
      const written = [...after].filter(([name, n]) => before.get(name) !== n).map(([name, n]) => `${name} ${before.get(name)}→${n}`);
      const body = res.body as Record<string, unknown>;
      const shape = typeof body.code === 'string' && typeof body.message === 'string' && body.statusCode === res.status && typeof body.request_id === 'string';
      const okStatus = c.status ? c.status.includes(res.status) : res.status >= 400 && res.status < 500;
      if (!okStatus || !shape || written.length > 0) {
        failures.push(`${c.name}: ${res.status} ${res.text.slice(0, 160)}${written.length ? ` — wrote ${written.join(', ')}` : ''}`);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('no secret in any log line: passwords, tokens, webhook secrets, the JWT secret', () => {
    const logs = t.logs.text();
    for (const secret of [password, p.user.token, p.admin.token, webhookSecret, JWT_SECRET, stripeWebhookSecret, coingate.apiToken]) {
      expect(logs.includes(secret)).toBe(false);
    }
  });
});
