import { Decimal } from '@torgovo/core';
import { ManagedBotsJob } from '@torgovo/managed-bots';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

type Perf = {
  managed_bot_id: string;
  initial_investment: string;
  current_balance: string;
  total_profit: string;
  total_loss: string;
  net_pnl: string;
  profit_share_accrued: string;
  profit_share_paid: string;
  high_water_mark: string;
  monthly_returns: Array<{ month: string; return_pct: string; guaranteed_pct: string | null; shortfall_pct: string | null }>;
};

describe('managed bots: admin create → follow → signal fan-out → paper fills → performance → settlement (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, TRADING_BACKOFF_BASE_MS: '10', TRADING_BACKOFF_MAX_MS: '20' });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('copies a buy and a close on paper, computes FIFO performance with fees by hand, and settles 20 % of the gain at unsubscribe', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const followed = await follow(t, u, botId, { investment: '1000' });
    expect(followed).toMatchObject({ managed_bot_id: botId, status: 'active', investment: '1000', high_water_mark: '1000', max_slippage_pct: '1', profit_share_percentage: '20' });

    const available = await t.request<Array<{ id: string; stats: { followers: number } }>>('GET', '/api/managed-bot/available');
    expect(available.status).toBe(200);
    expect(available.body.find((b) => b.id === botId)?.stats.followers).toBe(1);

    // Buy half the investment at 50,000: 0.01 BTC less the paper fee (0.1 % in BTC) = 0.00999 BTC for 500 USDT.
    expect(await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 's1' })).toEqual({ signal_id: 's1', orders_created: 1, duplicate: false });
    await drain(t, botId);
    // Close at 55,000: 0.00999 × 55,000 = 549.45, fee 0.54945 USDT.
    expect(await signal(t, admin, botId, { action: 'close', fraction: '1', price: '55000', signal_id: 's2' })).toMatchObject({ orders_created: 1 });
    await drain(t, botId);

    const orders = (await ds.query(`SELECT side, status, filled::text, average::text, fee::text, fee_currency FROM orders WHERE managed_bot_id = $1 ORDER BY created_at`, [botId])) as Array<Record<string, string>>;
    expect(orders.map((o) => [o.side, o.status, new Decimal(o.filled).toFixed(), new Decimal(o.fee).toFixed(), o.fee_currency])).toEqual([
      ['buy', 'filled', '0.01', '0.00001', 'BTC'],
      ['sell', 'filled', '0.00999', '0.54945', 'USDT'],
    ]);

    const perf = await t.request<Perf[]>('GET', '/api/managed-bot/performance', { token: u.access_token });
    expect(perf.status).toBe(200);
    // net = 549.45 − 0.54945 − 500 = 48.90055 (one winning trade).
    expect(perf.body[0]).toMatchObject({
      managed_bot_id: botId,
      initial_investment: '1000',
      current_balance: '1048.90055',
      total_profit: '48.90055',
      total_loss: '0',
      net_pnl: '48.90055',
      profit_share_accrued: '9.78',
      profit_share_paid: '0.00',
      high_water_mark: '1000',
    });
    expect(perf.body[0].monthly_returns.at(-1)).toMatchObject({ return_pct: '4.8901', guaranteed_pct: '3', shortfall_pct: '0' });

    const trades = await t.request<{ items: Array<Record<string, unknown>>; totals: Record<string, unknown> }>('GET', `/api/managed-bot/${botId}/trades`, { token: u.access_token });
    expect(trades.status).toBe(200);
    expect(trades.body.items.map((i) => [i.signal_id, i.lead_price, i.fill_price, i.slippage_pct, i.skipped_reason])).toEqual([
      ['s2', '55000', '55000', '0', null],
      ['s1', '50000', '50000', '0', null],
    ]);
    expect(trades.body.totals).toMatchObject({ fills: 2, net_pnl: '48.90055' });

    const ended = await t.request<{ status: string; settlement: { owed: string; payment_id: string } }>('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
    expect([ended.status, lastError(t)]).toEqual([200, ""]);
    expect(ended.body).toMatchObject({ status: 'ended', high_water_mark: '1048.90055', settlement: { kind: 'unsubscribe', owed: '9.78' } });
    const [payment] = (await ds.query(`SELECT kind, status, amount_usd::text, user_id, managed_bot_id FROM payments WHERE id = $1`, [ended.body.settlement.payment_id])) as Array<Record<string, string>>;
    expect(payment).toEqual({ kind: 'profit_share', status: 'pending', amount_usd: '9.78', user_id: u.id, managed_bot_id: botId });

    // The job's monthly settlement never settles an ended follow again.
    await t.app.get(ManagedBotsJob).run(new Date(Date.now() + 40 * 86_400_000));
    expect((await ds.query(`SELECT count(*)::int AS n FROM payments WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(1);
  });

  it("never shows another user's follow or performance: 404 on their bot's follow routes, an empty list", async () => {
    const botId = await createManagedBot(t, admin);
    const a = await managedSubscriber(t);
    const b = await managedSubscriber(t);
    await follow(t, a, botId, { investment: '500' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 'private-1' });
    await drain(t, botId);

    expect((await t.request('GET', '/api/managed-bot/performance', { token: b.access_token })).body).toEqual([]);
    expect((await t.request('GET', '/api/managed-bot/follows', { token: b.access_token })).body).toEqual([]);
    for (const [method, path, body] of [
      ['GET', `/api/managed-bot/${botId}/trades`, undefined],
      ['PATCH', `/api/managed-bot/${botId}/follow`, { max_slippage_pct: '2' }],
      ['POST', `/api/managed-bot/${botId}/investment`, { amount: '-100' }],
      ['POST', `/api/managed-bot/${botId}/unsubscribe`, {}],
    ] as const) {
      const res = await t.request(method, path, { token: b.access_token, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.text).not.toContain(a.id);
    }
    const own = await t.request<Array<{ managed_bot_id: string; net_pnl: string }>>('GET', '/api/managed-bot/performance', { token: a.access_token });
    expect(own.body).toHaveLength(1);
    const [f] = (await ds.query(`SELECT status, investment::text, max_slippage_pct::text FROM managed_bot_follows WHERE user_id = $1`, [a.id])) as Array<Record<string, string>>;
    expect(f).toEqual({ status: 'active', investment: '500.000000000000000000', max_slippage_pct: '1.000' });
    // Unauthenticated: 401.
    expect((await t.request('GET', '/api/managed-bot/performance')).status).toBe(401);
  });

  it('refuses bad input with a clear 4xx and writes nothing', async () => {
    const botId = await createManagedBot(t, admin, { max_investment: '20000' });
    const u = await managedSubscriber(t);
    const noPlan = await t.register();
    const count = async () => (await ds.query(`SELECT (SELECT count(*) FROM managed_bot_follows)::int AS f, (SELECT count(*) FROM orders)::int AS o, (SELECT count(*) FROM managed_bot_signals)::int AS s, (SELECT count(*) FROM paper_accounts)::int AS p`))[0];
    const before = await count();
    const sub = (body: unknown, token = u.access_token) => t.request('POST', '/api/managed-bot/subscribe', { token, body });
    // Each request is sent only when its turn comes (in order).
    const cases: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, string?]> = [
      ['malformed JSON', () => t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, raw: '{"managed_bot_id": ', headers: { 'content-type': 'application/json' } }), 400],
      ['a number, not a decimal string', () => sub({ managed_bot_id: botId, investment: 1000, mode: 'paper' }), 400],
      ['negative', () => sub({ managed_bot_id: botId, investment: '-5', mode: 'paper' }), 400],
      ['huge', () => sub({ managed_bot_id: botId, investment: '99999999999999999999', mode: 'paper' }), 400],
      ['above the maximum', () => sub({ managed_bot_id: botId, investment: '25000', mode: 'paper' }), 400, 'investment_out_of_range'],
      ['below the minimum', () => sub({ managed_bot_id: botId, investment: '50', mode: 'paper' }), 400, 'investment_out_of_range'],
      ['over the paper balance (10,000 USDT)', () => sub({ managed_bot_id: botId, investment: '15000', mode: 'paper' }), 400, 'insufficient_balance'],
      ['an unknown field', () => sub({ managed_bot_id: botId, investment: '500', mode: 'paper', leverage: 10 }), 400],
      ['slippage out of range', () => sub({ managed_bot_id: botId, investment: '500', mode: 'paper', max_slippage_pct: '0.05' }), 400],
      ['an unknown bot', () => sub({ managed_bot_id: '00000000-0000-4000-8000-000000000000', investment: '500', mode: 'paper' }), 404],
      ['no managed subscription', () => sub({ managed_bot_id: botId, investment: '500', mode: 'paper' }, noPlan.access_token), 403, 'no_active_subscription'],
      ['live without an exchange', () => sub({ managed_bot_id: botId, investment: '500' }), 400, 'exchange_not_connected'],
      ['a path id that is no uuid', () => t.request('GET', '/api/managed-bot/not-a-uuid/trades', { token: u.access_token }), 400],
      ['an admin route as a user', () => t.request('POST', `/api/managed-bots/${botId}/signals`, { token: u.access_token, body: { action: 'buy', symbol: 'BTC/USDT', fraction: '0.5', price: '1' } }), 403],
      ['a fraction above 1', () => t.request('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body: { action: 'buy', symbol: 'BTC/USDT', fraction: '1.5', price: '1' } }), 400],
      ['a symbol the bot does not trade', () => t.request('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body: { action: 'buy', symbol: 'ETH/USDT', fraction: '0.5', price: '1' } }), 400, 'unknown_symbol'],
      ['an unknown action', () => t.request('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body: { action: 'hodl', symbol: 'BTC/USDT', fraction: '0.5' } }), 400],
      ['a bot with a maximum below its minimum', () => t.request('POST', '/api/managed-bots', { token: admin.access_token, body: { name: 'x', symbols: ['BTC/USDT'], min_investment: '100', max_investment: '10' } }), 400],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending();
      expect([name, res.status]).toEqual([name, status]);
      if (code) expect([name, res.body.code]).toEqual([name, code]);
    }
    expect(await count()).toEqual(before);

    // A paper follower needs the lead's price to fill at. Its account is opened by the follow.
    await follow(t, u, botId, { investment: '500' });
    expect(await ds.query(`SELECT currency, free::text FROM paper_balances WHERE user_id = $1`, [u.id])).toEqual([{ currency: 'USDT', free: '10000.000000000000000000' }]);
    const noPrice = await t.request('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body: { action: 'buy', symbol: 'BTC/USDT', fraction: '0.5' } });
    expect([noPrice.status, noPrice.body.code]).toEqual([400, 'price_required']);
    expect(await sub({ managed_bot_id: botId, investment: '500', mode: 'paper' })).toMatchObject({ status: 409, body: { code: 'already_following' } });
    const zero = await t.request('POST', `/api/managed-bot/${botId}/investment`, { token: u.access_token, body: { amount: '0' } });
    expect(zero.status).toBe(400);
    const tooLow = await t.request('POST', `/api/managed-bot/${botId}/investment`, { token: u.access_token, body: { amount: '-450' } });
    expect([tooLow.status, tooLow.body.code]).toEqual([400, 'investment_out_of_range']);
  });
});
