import { SubscriptionActivationService } from '@torgovo/subscriptions';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, HttpResult, TestApp } from '../support/app';

export interface TestUser {
  id: string;
  access_token: string;
}

export async function planId(t: TestApp, code: string): Promise<string> {
  const rows = (await t.db.dataSource.query('SELECT id FROM subscription_plans WHERE code = $1', [code])) as Array<{ id: string }>;
  return rows[0].id;
}

/** Through the real API; a paid plan is activated the way a payment would activate it. */
export async function subscribe(t: TestApp, user: TestUser, code: 'free' | 'pro' | 'enterprise'): Promise<string> {
  const paid = code !== 'free';
  const res = await t.request<{ id: string; status: string }>('POST', '/api/subscriptions', {
    token: user.access_token,
    body: { plan_id: await planId(t, code), billing_cycle: 'monthly', payment_method: paid ? 'crypto' : 'none', auto_renew: false },
  });
  if (res.status !== 201) throw new Error(`subscribe ${code}: ${res.status} ${res.text}`);
  if (res.body.status === 'pending_payment') {
    await t.app.get(SubscriptionActivationService).activate(res.body.id, { payment: { provider: 'manual', reference: `test-${res.body.id}` } });
  }
  return res.body.id;
}

export interface BotBody {
  name?: string;
  symbol?: string;
  mode?: 'paper' | 'live';
  order_type?: 'market' | 'limit';
  sizing?: { type: string; value: string };
}

export function createBot(t: TestApp, user: TestUser, body: BotBody = {}): Promise<HttpResult> {
  return t.request('POST', '/api/bots', {
    token: user.access_token,
    body: { name: 'Test bot', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '100' }, ...body },
  });
}

export interface Generated {
  id: string;
  webhook_url: string;
  webhook_secret: string;
  tradingview_json: Record<string, string>;
}

export async function generateWebhook(t: TestApp, user: TestUser, botId: string, extra: Record<string, unknown> = {}): Promise<Generated> {
  const res = await t.request<Generated>('POST', '/api/custom-bot/webhook/generate', { token: user.access_token, body: { bot_id: botId, ...extra } });
  if (res.status !== 201) throw new Error(`generate: ${res.status} ${res.text}`);
  return res.body;
}

/** POSTs an alert the way TradingView does: text/plain unless told otherwise. */
export function sendAlert(
  t: TestApp,
  secret: string,
  body: string | Record<string, unknown>,
  contentType: string | null = 'text/plain; charset=utf-8',
): Promise<HttpResult> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return t.request('POST', `/api/custom-bot/webhook/receive/${secret}`, { raw, headers: contentType ? { 'content-type': contentType } : {} });
}

export interface EventRow {
  outcome: string;
  status_code: number;
  reason: string | null;
  order_id: string | null;
  body: string | null;
  ip: string | null;
  webhook_id: string | null;
}

export async function eventRows(t: TestApp, webhookId: string | null): Promise<EventRow[]> {
  return (await t.db.dataSource.query(
    `SELECT outcome, status_code, reason, order_id, body, ip, webhook_id FROM webhook_events
      WHERE webhook_id IS NOT DISTINCT FROM $1 ORDER BY received_at, id`,
    [webhookId],
  )) as EventRow[];
}

export async function countRows(t: TestApp, table: 'orders' | 'webhook_events', where = 'true', params: unknown[] = []): Promise<number> {
  const [row] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params)) as Array<{ n: number }>;
  return row.n;
}

export async function orderById(t: TestApp, id: string): Promise<Record<string, string | null>> {
  const rows = (await t.db.dataSource.query(
    `SELECT id, bot_id, source, source_ref, mode, exchange, symbol, side, type, amount::text, quote_amount::text, quote_percent::text, position_percent::text, target_position::text, price::text, status
       FROM orders WHERE id = $1`,
    [id],
  )) as Array<Record<string, string | null>>;
  return rows[0];
}

/** Stands in for the TradingManager: marks an order filled so the bot holds a position. */
export async function fillOrder(t: TestApp, id: string, filled: string): Promise<void> {
  await t.db.dataSource.query(`UPDATE orders SET status = 'filled', filled = $2, closed_at = now() WHERE id = $1`, [id, filled]);
}

/** A TradingView {{timenow}} value for "now". */
export const timenow = (offsetMs = 0): string => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface LiveExchangeHarness {
  t: TestApp;
  okx: FakeOkxServer;
  /** Connects the harness's fake OKX account for the user through the real API (expects 200). */
  connect(user: TestUser): Promise<void>;
  close(): Promise<void>;
}

/** An app whose live markets and keys check go to a fake OKX holding one account (1000 USDT). */
export async function liveExchangeHarness(prefix: string): Promise<LiveExchangeHarness> {
  const account = { apiKey: `okx-${prefix}-key-0001`, secret: `OKX-${prefix.toUpperCase()}-SECRET-0001`, passphrase: `${prefix}-Pass-0001` };
  const okx = await new FakeOkxServer().start();
  okx.addAccount({ ...account, balances: { USDT: '1000' } });
  const t = await createTestApp({ OKX_API_URL: okx.url });
  return {
    t,
    okx,
    async connect(user) {
      const res = await t.request('POST', '/api/users/me/exchange', {
        token: user.access_token,
        body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
      });
      if (res.status !== 200) throw new Error(`connect: ${res.status} ${res.text}`);
    },
    async close() {
      await t.close();
      await okx.stop();
    },
  };
}

/** A new account with 1000 USDT on the fake OKX, connected for the user through the real API (expects 200). */
export async function connectNewOkxAccount(t: TestApp, okx: FakeOkxServer, user: TestUser): Promise<ReturnType<FakeOkxServer['addAccount']>> {
  const account = okx.addAccount({ balances: { USDT: '1000' } });
  const res = await t.request('POST', '/api/users/me/exchange', {
    token: user.access_token,
    body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
  });
  if (res.status !== 200) throw new Error(`connect: ${res.status} ${res.text}`);
  return account;
}

/**
 * A new user on the free plan with a running paper bot (BTC/USDT, 0.001 base) and its webhook (rate
 * limit high enough for any test): the receive path's usual sender.
 */
export async function runningBotWebhook(t: TestApp): Promise<{ user: Awaited<ReturnType<TestApp['register']>>; botId: string; hook: Generated }> {
  const user = await t.register();
  await subscribe(t, user, 'free');
  const bot = await createBot(t, user, { sizing: { type: 'base', value: '0.001' } });
  if (bot.status !== 201) throw new Error(`bot: ${bot.status} ${bot.text}`);
  const botId = bot.body.id as string;
  const started = await t.request('POST', `/api/bots/${botId}/start`, { token: user.access_token });
  if (started.status !== 200) throw new Error(`start: ${started.status} ${started.text}`);
  const hook = await generateWebhook(t, user, botId, { rate_limit_per_minute: 100_000 });
  return { user, botId, hook };
}
