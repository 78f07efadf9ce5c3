import { Decimal } from '@torgovo/core';
import { TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createBot, generateWebhook, sendAlert, subscribe, TestUser } from './support';

/** PATCH /bots/{id}: edit a bot without losing its webhook; symbol and mode only while stopped (e2e). */
describe('PATCH /bots/{id}', () => {
  let t: TestApp;
  let ds: DataSource;
  let manager: TradingManager;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
  });
  afterAll(async () => {
    await t?.close();
  });

  const patch = (u: TestUser, id: string, body: unknown) => t.request<Record<string, unknown> & { code?: string }>('PATCH', `/api/bots/${id}`, { token: u.access_token, body });
  const stop = (u: TestUser, id: string) => t.request('POST', `/api/bots/${id}/stop`, { token: u.access_token });

  async function proBot(u?: TestUser, body: Record<string, unknown> = {}) {
    const user = u ?? (await t.register());
    if (!u) await subscribe(t, user, 'pro');
    const res = await createBot(t, user, { sizing: { type: 'base', value: '0.001' }, ...body });
    expect(res.status).toBe(201);
    return { u: user, id: res.body.id as string };
  }

  it('name, sizing and order type change while running; the webhook keeps working with the same secret', async () => {
    const { u, id } = await proBot();
    const hook = await generateWebhook(t, u, id);
    const res = await patch(u, id, { name: '  Renamed  ', sizing: { type: 'quote', value: '25' }, order_type: 'limit', allow_selling_beyond_position: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, name: 'Renamed', sizing: { type: 'quote', value: '25' }, order_type: 'limit', allow_selling_beyond_position: true, status: 'running' });
    const alert = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: 'after-edit' });
    expect(alert.status).toBe(202);
    const [order] = (await ds.query(`SELECT type, quote_amount::text FROM orders WHERE id = $1`, [alert.body.order_id])) as Array<{ type: string; quote_amount: string }>;
    expect(order.type).toBe('limit');
    expect(new Decimal(order.quote_amount).toFixed()).toBe('25');
    const hooks = await t.request<{ items: unknown[] } | unknown[]>('GET', '/api/custom-bot/webhooks', { token: u.access_token });
    expect(hooks.status).toBe(200);
  });

  it('alert accepted, then PATCH sizing, then execution: the order keeps the sizing it was accepted with; later alerts get the new one', async () => {
    const { u, id } = await proBot();
    const hook = await generateWebhook(t, u, id);
    const first = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: 'before' });
    expect(first.status).toBe(202);
    expect((await patch(u, id, { sizing: { type: 'base', value: '0.005' } })).status).toBe(200);
    const second = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: 'after' });
    await manager.runUntilIdle();
    const filled = async (orderId: unknown) =>
      ((await ds.query(`SELECT status, filled::text FROM orders WHERE id = $1`, [orderId])) as Array<{ status: string; filled: string }>).map((r) => [r.status, new Decimal(r.filled).toFixed()])[0];
    expect(await filled(first.body.order_id)).toEqual(['filled', '0.001']);
    expect(await filled(second.body.order_id)).toEqual(['filled', '0.005']);
  });

  it('symbol or mode while running is 409 bot_running and changes nothing', async () => {
    const { u, id } = await proBot();
    for (const body of [{ symbol: 'ETH/USDT' }, { mode: 'live' }, { name: 'x', symbol: 'ETH-USDT' }]) {
      const res = await patch(u, id, body);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('bot_running');
    }
    const bot = await t.request('GET', `/api/bots/${id}`, { token: u.access_token });
    expect(bot.body).toMatchObject({ name: 'Test bot', symbol: 'BTC/USDT', mode: 'paper' });
    // The same symbol (in any spelling) is no change.
    expect((await patch(u, id, { symbol: 'BTCUSDT' })).status).toBe(200);
  });

  it('stopped: the symbol changes (normalized) and the same webhook then trades the new symbol; a position blocks it until closed', async () => {
    const { u, id } = await proBot();
    const hook = await generateWebhook(t, u, id);
    const buy = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: 'b1' });
    await manager.runUntilIdle();
    expect((await stop(u, id)).status).toBe(200);
    const blocked = await patch(u, id, { symbol: 'ETH-USDT' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('bot_has_position');
    const close = await t.request<{ order_id: string }>('POST', `/api/bots/${id}/close`, { token: u.access_token });
    expect(close.status).toBe(202);
    // Still unfinished: also blocks.
    expect((await patch(u, id, { symbol: 'ETH-USDT' })).body.code).toBe('bot_has_position');
    await manager.runUntilIdle();
    expect(buy.body.order_id).toBeDefined();
    const res = await patch(u, id, { symbol: 'ETH-USDT' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ symbol: 'ETH/USDT', status: 'stopped' });
    expect((await t.request('POST', `/api/bots/${id}/start`, { token: u.access_token })).status).toBe(200);
    const eth = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'ETHUSDT', price: '3000', alert_id: 'e1' });
    expect(eth.status).toBe(202);
    expect((await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: 'b2' })).body.code).toBe('symbol_mismatch');
  });

  it('dust below the smallest order does not block a symbol change (no close could sell it); the position starts over', async () => {
    const { u, id } = await proBot();
    await stop(u, id);
    // Stands in for fills that left a remainder below BTC/USDT's minimum order (0.00001).
    await ds.query(`INSERT INTO bot_positions (bot_id, amount, cost) VALUES ($1, 0.0001, 6)`, [id]);
    expect((await patch(u, id, { symbol: 'ETH/USDT' })).body.code).toBe('bot_has_position');
    await ds.query(`UPDATE bot_positions SET amount = 0.000000005, cost = 0.0003 WHERE bot_id = $1`, [id]);
    expect((await patch(u, id, { symbol: 'ETH/USDT' })).status).toBe(200);
    const [p] = (await ds.query(`SELECT amount::text, cost::text FROM bot_positions WHERE bot_id = $1`, [id])) as Array<{ amount: string; cost: string }>;
    expect([new Decimal(p.amount).toFixed(), new Decimal(p.cost).toFixed()]).toEqual(['0', '0']);
  });

  it('a start commits between the check and the write: the symbol is not changed (the write checks under the bot lock)', async () => {
    const { u, id } = await proBot();
    expect((await stop(u, id)).status).toBe(200);
    // Stand-in for a start holding the bot's row lock: PATCH waits, then sees it running.
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      await qr.query(`SELECT 1 FROM bots WHERE id = $1 FOR UPDATE`, [id]);
      const pending = patch(u, id, { symbol: 'SOL/USDT' });
      await new Promise((r) => setTimeout(r, 300));
      await qr.query(`UPDATE bots SET status = 'running', stop_reason = NULL WHERE id = $1`, [id]);
      await qr.commitTransaction();
      const res = await pending;
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('bot_running');
    } finally {
      await qr.release();
    }
    expect((await t.request('GET', `/api/bots/${id}`, { token: u.access_token })).body).toMatchObject({ symbol: 'BTC/USDT', status: 'running' });
  });

  it('validated as POST /bots: live without keys, live on the free plan, the plan pair limit, unknown symbols, bad sizing, unknown fields', async () => {
    const { u, id } = await proBot();
    await stop(u, id);
    const noKeys = await patch(u, id, { mode: 'live' });
    expect([noKeys.status, noKeys.body.code]).toEqual([400, 'exchange_not_connected']);
    const unknown = await patch(u, id, { symbol: 'NOPE/USDT' });
    expect([unknown.status, unknown.body.code]).toEqual([400, 'unknown_symbol']);
    for (const body of [{ sizing: { type: 'quote', value: '-5' } }, { sizing: { type: 'percent_balance', value: '150' } }, { name: '' }, { mode: 'futures' }, { color: 'red' }, { sizing: 'big' }]) {
      const res = await patch(u, id, body);
      expect([body, res.status]).toEqual([body, 400]);
    }
    const malformed = await t.request('PATCH', `/api/bots/${id}`, { token: u.access_token, raw: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);

    // Pair limit: two other running bots on two pairs, the plan allows 2 pairs now.
    await ds.query(`UPDATE subscription_plans SET max_trading_pairs = 2 WHERE code = 'pro'`);
    try {
      await proBot(u, { symbol: 'ETH/USDT' });
      await proBot(u, { symbol: 'SOL/USDT' });
      const over = await patch(u, id, { symbol: 'XRP/USDT' });
      expect([over.status, over.body.code]).toEqual([403, 'plan_limit']);
      expect((await patch(u, id, { symbol: 'ETH/USDT' })).status).toBe(200);
    } finally {
      await ds.query(`UPDATE subscription_plans SET max_trading_pairs = 3 WHERE code = 'pro'`);
    }

    const free = await t.register();
    await subscribe(t, free, 'free');
    const freeBot = await createBot(t, free);
    await stop(free, freeBot.body.id as string);
    const live = await patch(free, freeBot.body.id as string, { mode: 'live' });
    expect([live.status, live.body.code]).toEqual([403, 'live_trading_not_allowed']);
  });

  it("another user's bot is 404 and unchanged; a deleted bot is 404", async () => {
    const { u, id } = await proBot();
    const mallory = await t.register();
    expect((await patch(mallory, id, { name: 'mine' })).status).toBe(404);
    expect((await t.request('GET', `/api/bots/${id}`, { token: u.access_token })).body).toMatchObject({ name: 'Test bot' });
    expect((await t.request('DELETE', `/api/bots/${id}`, { token: u.access_token })).status).toBe(204);
    expect((await patch(u, id, { name: 'again' })).status).toBe(404);
  });
});
