import { Decimal } from '@torgovo/core';
import { ManagedBotsJob } from '@torgovo/managed-bots';
import { TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { connectOkx, createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

type OrderRow = { id: string; side: string; status: string; reason: string | null; filled: string; source_ref: string };

/**
 * The follower's protections and the placement rule for followers' orders: "a signal is fanned out,
 * then the state changes, then the order's turn comes" — decided by the executor at the send.
 */
describe('managed followers: protections and the placement rule (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };
  let manager: TradingManager;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, TRADING_BACKOFF_BASE_MS: '60000', TRADING_BACKOFF_MAX_MS: '60000', LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    admin = await t.admin();
    manager = t.app.get(TradingManager);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  const orders = async (botId: string, userId: string): Promise<OrderRow[]> =>
    (await ds.query(`SELECT id, side, status, reason, filled::text, source_ref FROM orders WHERE managed_bot_id = $1 AND user_id = $2 ORDER BY created_at`, [botId, userId])) as OrderRow[];

  it('skips a live follower order whose market is further from the lead than the follower allows, with the reason, never sent and never counted', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const account = okx.addAccount({ balances: { USDT: '5000' } });
    await connectOkx(t, u, account);
    // Over the free balance: refused through the gateway's balance read.
    const tooMuch = await t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: botId, investment: '5000.01', mode: 'live' } });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body).toMatchObject({ code: 'insufficient_balance' });
    await follow(t, u, botId, { investment: '1000', mode: 'live', max_slippage_pct: '0.5' });

    // The fake OKX asks 73384.8 for BTC; the lead bought at 72,000: 1.92 % away, more than 0.5 %.
    await signal(t, admin, botId, { action: 'buy', fraction: '0.2', price: '72000', signal_id: 'far' });
    await manager.runOnce();
    // Within it: the lead at 73,200 is 0.25 % away.
    await signal(t, admin, botId, { action: 'buy', fraction: '0.2', price: '73200', signal_id: 'near' });
    await manager.runOnce();

    const rows = await orders(botId, u.id);
    expect(rows.map((r) => [r.status, r.reason?.split(':')[0] ?? null])).toEqual([
      ['canceled', 'slippage_exceeded'],
      ['filled', null],
    ]);
    expect(account.orders.size).toBe(1);
    const report = await t.request<{ items: Array<{ signal_id: string; skipped_reason: string | null; slippage_pct: string | null; fill_price: string | null }> }>('GET', `/api/managed-bot/${botId}/trades`, { token: u.access_token });
    expect(report.status).toBe(200);
    const bySignal = new Map(report.body.items.map((i) => [i.signal_id, i]));
    expect(bySignal.get('far')).toMatchObject({ fill_price: null, slippage_pct: null, skipped_reason: expect.stringMatching(/^slippage_exceeded/) });
    // Filled at the fake's ask: (73384.8 − 73200) / 73200 = +0.2525 %.
    expect(bySignal.get('near')).toMatchObject({ fill_price: '73384.8', slippage_pct: '0.2525', skipped_reason: null });

    // The follower tightens it further; out of range is a 400 that changes nothing.
    const bad = await t.request('PATCH', `/api/managed-bot/${botId}/follow`, { token: u.access_token, body: { max_slippage_pct: '5' } });
    expect(bad.status).toBe(400);
    const ok = await t.request('PATCH', `/api/managed-bot/${botId}/follow`, { token: u.access_token, body: { max_slippage_pct: '0.1' } });
    expect(ok.body).toMatchObject({ max_slippage_pct: '0.1' });
  });

  it('two subscribes sent at once on a one-bot plan (Managed Basic): one follow is made, the other is refused by the plan limit', async () => {
    const [a, b] = [await createManagedBot(t, admin), await createManagedBot(t, admin)];
    const u = await managedSubscriber(t, 'managed_basic');
    const answers = await Promise.all(
      [a, b].map((id) => t.request<{ code?: string }>('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: id, investment: '1000', mode: 'paper' } })),
    );
    // Before: both counted no follow yet and both were written (the plan's limit never checked again).
    expect(answers.map((r) => r.status).sort()).toEqual([201, 403]);
    expect(answers.find((r) => r.status === 403)!.body).toMatchObject({ code: 'plan_limit' });
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM managed_bot_follows WHERE user_id = $1 AND status = 'active'`, [u.id])) as Array<{ n: number }>;
    expect(n).toBe(1);
  });

  it('a follow re-made in the other mode starts flat: paper buy → unfollow keeping it → follow live → live buy → close sells only what the live follow bought', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const account = okx.addAccount({ balances: { USDT: '5000' } });
    await connectOkx(t, u, account);
    await follow(t, u, botId, { investment: '1000', mode: 'paper' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 'mode-paper-buy' });
    await drain(t, botId);
    const left = await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
    expect([left.status, lastError(t)]).toEqual([200, '']);

    await follow(t, u, botId, { investment: '1000', mode: 'live' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '73384.8', signal_id: 'mode-live-buy' });
    await drain(t, botId);
    await signal(t, admin, botId, { action: 'close', fraction: '1', price: '73384.8', signal_id: 'mode-live-close' });
    await drain(t, botId);

    const rows = (await ds.query(
      `SELECT mode, side, status, reason, filled::text, fee::text, fee_currency FROM orders WHERE managed_bot_id = $1 AND user_id = $2 ORDER BY created_at`,
      [botId, u.id],
    )) as Array<{ mode: string; side: string; status: string; reason: string | null; filled: string; fee: string | null; fee_currency: string | null }>;
    expect(rows.map((r) => [r.mode, r.side, r.status])).toEqual([
      ['paper', 'buy', 'filled'],
      ['live', 'buy', 'filled'],
      ['live', 'sell', 'filled'],
    ]);
    const liveBuy = rows[1];
    const liveHeld = new Decimal(liveBuy.filled).minus(liveBuy.fee_currency === 'BTC' ? (liveBuy.fee ?? '0') : '0');
    // Before: the paper follow's 0.00999 BTC were counted too, and the live close tried to sell them on OKX.
    // All of the live holding, down to BTC-USDT's lot size (1e-8).
    expect(new Decimal(rows[2].filled).toFixed()).toBe(liveHeld.toDecimalPlaces(8, Decimal.ROUND_DOWN).toFixed());
    expect(account.orders.size).toBe(2);
  });

  it('fires the portfolio stop-loss: equity below the set share of the investment closes everything and stops copying', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '1000', stop_loss_pct: '90' });
    // 500 at 50,000 → 0.00999 BTC kept; a tenth sold at 40,000 marks the rest at 40,000: equity ≈ 899.56 < 900.
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 'sl-buy' });
    await drain(t, botId);
    await signal(t, admin, botId, { action: 'sell', fraction: '0.1', price: '40000', signal_id: 'sl-sell' });
    await drain(t, botId);

    const tick = await t.app.get(ManagedBotsJob).run(new Date());
    expect(tick.stopped).toBe(1);
    const [f] = (await ds.query(`SELECT status, end_reason, current_balance::text FROM managed_bot_follows WHERE user_id = $1`, [u.id])) as Array<Record<string, string>>;
    expect(f).toMatchObject({ status: 'ended', end_reason: 'stop_loss' });
    expect(new Decimal(f.current_balance).lt(900)).toBe(true);
    await drain(t, botId);
    const rows = await orders(botId, u.id);
    expect(rows.at(-1)).toMatchObject({ side: 'sell', status: 'filled', source_ref: expect.stringMatching(/^close:/) });
    expect(new Decimal(rows.at(-1)!.filled).toFixed()).toBe('0.008991');

    // Copying stopped: the next signal writes nothing for this follower.
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '40000', signal_id: 'after-stop' })).orders_created).toBe(0);
  });

  it('the stop-loss fires on a read, then the follower removes it and commits first: the follow is not ended (the condition is checked again on the locked row)', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const f = (await follow(t, u, botId, { investment: '1000', stop_loss_pct: '90' })) as { id: string };
    // Equity below 90 % of the investment, as the performance recompute would leave it.
    await ds.query(`UPDATE managed_bot_follows SET current_balance = 850 WHERE id = $1`, [f.id]);
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      // The follower's PATCH {stop_loss_pct: null}, committing while the job's pass is under way.
      await qr.query(`UPDATE managed_bot_follows SET stop_loss_pct = NULL WHERE id = $1`, [f.id]);
      const pass = (t.app.get(ManagedBotsJob) as unknown as { stopLosses(): Promise<number> }).stopLosses();
      await new Promise((r) => setTimeout(r, 500));
      await qr.commitTransaction();
      // Before: the job ended the follow and sold everything against the follower's latest settings.
      expect(await pass).toBe(0);
    } finally {
      await qr.release();
    }
    const [row] = (await ds.query(`SELECT status, end_reason FROM managed_bot_follows WHERE id = $1`, [f.id])) as Array<{ status: string; end_reason: string | null }>;
    expect(row).toEqual({ status: 'active', end_reason: null });
    await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
  });

  it('a follower who unsubscribes mid-month: the month so far is settled once, an order fanned out before is canceled at its turn, the positions are closed', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '1000' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 'mid-1' });
    await drain(t, botId);
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '52000', signal_id: 'mid-2' });
    // The second buy has not been placed yet when the follower leaves, closing what they hold.
    const res = await t.request<{ status: string; settlement: { kind: string; owed: string } }>('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: { close_positions: true } });
    expect([res.status, lastError(t)]).toEqual([200, '']);
    expect(res.body).toMatchObject({ status: 'ended', end_reason: 'user', settlement: { kind: 'unsubscribe' } });
    await drain(t, botId);
    const rows = await orders(botId, u.id);
    expect(rows.map((r) => [r.side, r.status, r.reason?.split(':')[0] ?? null])).toEqual([
      ['buy', 'filled', null],
      ['buy', 'canceled', 'follow_ended'],
      ['sell', 'filled', null],
    ]);
    expect(rows[2]).toMatchObject({ source_ref: expect.stringMatching(/^close:/), filled: '0.009990000000000000' });
    const again = await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
    expect(again.status).toBe(404);
    // The month is not settled a second time by the monthly run.
    const next = new Date(Date.now() + 35 * 86_400_000);
    await t.app.get(ManagedBotsJob).run(next);
    expect((await ds.query(`SELECT count(*)::int AS n FROM managed_profit_share_settlements WHERE user_id = $1`, [u.id]))[0].n).toBe(1);
  });

  it('an order fanned out, then the follow ends / the bot is paused / the subscription ends, then its turn: canceled with that reason, never sent', async () => {
    const botId = await createManagedBot(t, admin);
    const [a, b, c] = [await managedSubscriber(t), await managedSubscriber(t), await managedSubscriber(t)];
    for (const u of [a, b, c]) await follow(t, u, botId, { investment: '500' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '50000', signal_id: 'turn-1' });
    // a leaves (keeping positions), c's managed subscription is cancelled now.
    expect((await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: a.access_token, body: {} })).status).toBe(200);
    const subs = (await t.request<{ managed_bot: { id: string } }>('GET', '/api/subscriptions/my-subscription', { token: c.access_token })).body;
    expect((await t.request('DELETE', `/api/subscriptions/${subs.managed_bot.id}`, { token: c.access_token })).status).toBe(200);
    await drain(t, botId);
    const status = async (userId: string) => (await orders(botId, userId)).map((r) => [r.status, r.reason?.split(':')[0] ?? null]);
    expect(await status(a.id)).toEqual([['canceled', 'follow_ended']]);
    expect(await status(b.id)).toEqual([['filled', null]]);
    expect(await status(c.id)).toEqual([['canceled', 'subscription_inactive']]);

    // Paused after a signal: b's next order is canceled at its turn; a paused bot takes no signal.
    await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: 'turn-2' });
    expect((await t.request('PATCH', `/api/managed-bots/${botId}`, { token: admin.access_token, body: { status: 'paused' } })).status).toBe(200);
    await drain(t, botId);
    expect((await status(b.id)).at(-1)).toEqual(['canceled', 'managed_bot_paused']);
    const refused = await t.request('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body: { action: 'buy', symbol: 'BTC/USDT', fraction: '0.1', price: '50000' } });
    expect(refused.status).toBe(409);
  });

  it('an order fanned out, then the bot is paused, then resumed before its turn: canceled managed_bot_paused, never sent; a signal after the resume is placed', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '500' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.2', price: '50000', signal_id: 'before-pause' });
    const patch = (status: string) => t.request('PATCH', `/api/managed-bots/${botId}`, { token: admin.access_token, body: { status } });
    expect((await patch('paused')).status).toBe(200);
    const resumed = await patch('active');
    expect([resumed.status, resumed.body]).toEqual([200, expect.objectContaining({ status: 'active' })]);
    await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: 'after-resume' });
    await drain(t, botId);
    const rows = await orders(botId, u.id);
    // Before: active again at its turn, so the signal from before the pause was traded after the resume.
    expect(rows.map((r) => [r.status, r.reason?.split(':')[0] ?? null])).toEqual([
      ['canceled', 'managed_bot_paused'],
      ['filled', null],
    ]);
    expect(rows[0].reason).toMatch(/paused after this signal and resumed before this order was placed/);
  });
});
