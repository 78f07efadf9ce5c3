import { clientOrderIdFor } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { seedFollowers } from './seed-followers';
import { connectOkx, createManagedBot, drain, managedSubscriber, signal } from './support';

/**
 * One signal → one order per active follower, in one statement, executed by the TradingManager
 * through the placement rule; one follower's broken exchange holds up no one; a replayed signal
 * (API or the admin webhook) creates nothing.
 */
describe('managed signal fan-out (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({
      ...WORKER_JOBS_BY_HAND,
      OKX_API_URL: okx.url,
      TRADING_CONCURRENCY: '16',
      DATABASE_POOL_SIZE: '12',
      TRADING_BACKOFF_BASE_MS: '60000',
      TRADING_BACKOFF_MAX_MS: '60000',
      LOG_LEVEL: 'warn',
      MANAGED_WEBHOOK_RATE_LIMIT_PER_MINUTE: '5',
    });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  async function liveFollower(botId: string, investment: string): Promise<{ id: string; account: FakeAccount }> {
    const u = await managedSubscriber(t);
    const account = okx.addAccount({ balances: { USDT: '10000' } });
    await connectOkx(t, u, account);
    const followed = await t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: botId, investment, mode: 'live' } });
    expect(followed.status).toBe(201);
    return { id: u.id, account };
  }

  it('fans one signal out to 1,000 followers (998 paper, 2 live): each gets its order with its own client order id; the one whose exchange fails holds up no one', async () => {
    const botId = await createManagedBot(t, admin, { min_investment: '10' });
    const paper = await seedFollowers(ds, botId, 998, { investment: '200', tag: 'fanout' });
    const good = await liveFollower(botId, '300');
    const broken = await liveFollower(botId, '300');
    // The broken follower's keys stop being accepted by the exchange after they were connected.
    okx.exchange.accounts.delete(broken.account.apiKey);

    // The lead buys at the fake OKX ask (73384.8): live followers are within their 1 % slippage.
    const accepted = await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '73384.8', signal_id: 'lead-1' });
    expect(accepted).toEqual({ signal_id: 'lead-1', orders_created: 1000, duplicate: false });

    const rows = (await ds.query(
      `SELECT user_id, client_order_id, source_ref, quote_amount::text, mode FROM orders WHERE managed_bot_id = $1`,
      [botId],
    )) as Array<{ user_id: string; client_order_id: string; source_ref: string; quote_amount: string; mode: string }>;
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.client_order_id)).size).toBe(1000);
    // The id the statement computed in SQL is the one trading derives in TypeScript (retries and look-ups use it).
    expect(rows.every((r) => r.client_order_id === clientOrderIdFor('managed', r.source_ref))).toBe(true);
    expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set([...paper, good.id, broken.id]));
    // investment × fraction: 200 × 0.5 on paper, 300 × 0.5 live.
    expect(rows.filter((r) => r.mode === 'paper').every((r) => Number(r.quote_amount) === 100)).toBe(true);
    expect(rows.filter((r) => r.mode === 'live').map((r) => Number(r.quote_amount))).toEqual([150, 150]);

    // A replay of the same signal (same signal_id) creates nothing, however often.
    const replays = await Promise.all([1, 2, 3].map(() => signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '73384.8', signal_id: 'lead-1' })));
    expect(replays.every((r) => r.orders_created === 0 && r.duplicate)).toBe(true);
    expect((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(1000);

    // Execute everything that can be: the broken follower's order goes back to pending with a long
    // backoff (or is rejected); everyone else's is filled meanwhile.
    const manager = t.app.get((await import('@torgovo/trading')).TradingManager);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const done = await manager.runOnce();
      if (done.length === 0) break;
      if (Date.now() > deadline) throw new Error('fan-out not executed in time');
    }
    const byStatus = (await ds.query(
      `SELECT user_id = $2 AS broken, status, count(*)::int AS n FROM orders WHERE managed_bot_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [botId, broken.id],
    )) as Array<{ broken: boolean; status: string; n: number }>;
    expect(byStatus.filter((r) => !r.broken)).toEqual([{ broken: false, status: 'filled', n: 999 }]);
    const [brokenOrder] = (await ds.query(`SELECT status, reason FROM orders WHERE managed_bot_id = $1 AND user_id = $2`, [botId, broken.id])) as Array<{ status: string; reason: string }>;
    expect(brokenOrder.status).not.toBe('filled');
    expect(brokenOrder.reason).toMatch(/auth|key/i);
    expect([...good.account.orders.values()]).toHaveLength(1);
  });

  it('the admin webhook fans the bot\'s own TradingView alerts out; a repeated alert_id creates nothing; a wrong secret is 404', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 3, { tag: 'webhook' });
    const hook = await t.request<{ webhook_url: string; webhook_secret: string }>('POST', `/api/managed-bots/${botId}/webhook`, { token: admin.access_token });
    expect(hook.status).toBe(201);
    const path = new URL(hook.body.webhook_url).pathname;
    const alert = { action: 'long', ticker: 'OKX:BTCUSDT', fraction: '0.1', price: '65000', alert_id: '2026-11-25T10:00:00Z-1' };
    const first = await t.request('POST', path, { body: alert });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ orders_created: 3, duplicate: false });
    const again = await t.request('POST', path, { body: alert });
    expect(again.body).toMatchObject({ orders_created: 0, duplicate: true });
    const wrong = await t.request('POST', '/api/managed-bot/webhook/receive/not-a-secret', { body: alert });
    expect(wrong.status).toBe(404);
    const orders = (await ds.query(`SELECT side, symbol, quote_amount::text, price::text FROM orders WHERE managed_bot_id = $1`, [botId])) as Array<Record<string, string>>;
    expect(orders).toHaveLength(3);
    expect(orders.every((o) => o.side === 'buy' && o.symbol === 'BTC/USDT' && Number(o.quote_amount) === 100 && Number(o.price) === 65000)).toBe(true);
    await drain(t, botId);
  });

  it('a bot paused between the signal\'s check and the fan-out statement: 409 managed_bot_paused, nothing written — not a "duplicate"', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 3, { tag: 'paused-race' });
    const original = ds.query.bind(ds);
    // The service has read the bot (active) and checked the symbol; the pause commits; then the fan-out statement.
    const spy = jest.spyOn(ds, 'query').mockImplementation(async (...args: Parameters<DataSource['query']>) => {
      if (args[0].includes('INSERT INTO managed_bot_signals')) {
        spy.mockRestore();
        const paused = await t.request('PATCH', `/api/managed-bots/${botId}`, { token: admin.access_token, body: { status: 'paused' } });
        expect(paused.status).toBe(200);
      }
      return original(...args);
    });
    const res = await t.request('POST', `/api/managed-bots/${botId}/signals`, {
      token: admin.access_token,
      body: { action: 'buy', symbol: 'BTC/USDT', fraction: '0.1', price: '65000', signal_id: 'paused-race-1' },
    });
    spy.mockRestore();
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'managed_bot_paused' });
    expect((await ds.query(`SELECT count(*)::int AS n FROM managed_bot_signals WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(0);
    expect((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(0);
    // Resumed, the same signal_id is a new signal (nothing was recorded for it), and its repeat a duplicate.
    expect((await t.request('PATCH', `/api/managed-bots/${botId}`, { token: admin.access_token, body: { status: 'active' } })).status).toBe(200);
    expect(await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '65000', signal_id: 'paused-race-1' })).toEqual({ signal_id: 'paused-race-1', orders_created: 3, duplicate: false });
    expect(await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '65000', signal_id: 'paused-race-1' })).toEqual({ signal_id: 'paused-race-1', orders_created: 0, duplicate: true });
  });

  it('the admin webhook is rate limited like custom-bot webhooks: over MANAGED_WEBHOOK_RATE_LIMIT_PER_MINUTE a 429 with Retry-After, per managed bot', async () => {
    const [botId, otherId] = [await createManagedBot(t, admin), await createManagedBot(t, admin)];
    const hookPath = async (id: string) =>
      new URL((await t.request<{ webhook_url: string }>('POST', `/api/managed-bots/${id}/webhook`, { token: admin.access_token })).body.webhook_url).pathname;
    const [path, otherPath] = [await hookPath(botId), await hookPath(otherId)];
    const alert = (n: number) => ({ action: 'long', ticker: 'BTCUSDT', fraction: '0.1', price: '65000', alert_id: `limited-${n}` });
    for (let n = 1; n <= 5; n += 1) expect((await t.request('POST', path, { body: alert(n) })).status).toBe(202);
    const over = await t.request('POST', path, { body: alert(6) });
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'rate_limited' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await ds.query(`SELECT count(*)::int AS n FROM managed_bot_signals WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(5);
    // Another managed bot's webhook has its own allowance.
    expect((await t.request('POST', otherPath, { body: alert(1) })).status).toBe(202);
  });
});
