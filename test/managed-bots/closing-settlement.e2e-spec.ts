import { Decimal } from '@torgovo/core';
import { DataSource } from 'typeorm';
import type { TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { connectOkx, createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

interface Settlement {
  kind: string;
  equity: string;
  high_water_mark_before: string;
  owed: string;
}

/**
 * "A live follower's position is marked at its last fill, then the market moves, then the follower
 * leaves closing their positions." The closing sell fills at the market, after the follow ended —
 * the recompute and the monthly run skip ended follows, so whatever the close realised beyond the
 * last fill was never settled: a follower leaving above the last fill kept that gain free of the
 * share, one leaving below it was charged on a gain the close never realised. The ending settlement
 * now values what it closes at the market's bid. And a re-follow while that close is still under way
 * would count the close's gain in the new follow too: refused until the book's orders are final.
 */
describe('managed followers: a live follow ending with close_positions is settled at the market price (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  // The endpoints keep a ticker 1 s (TICKER_TTL_MS): a price set here is the one read after that.
  const priceAt = async (price: string) => {
    okx.exchange.setPrice('BTC-USDT', price);
    await new Promise((r) => setTimeout(r, 1_100));
  };
  beforeEach(() => priceAt('73384.8'));

  /** A live follower holding BTC bought at the fake's price (73,384.8). */
  async function liveHolder(): Promise<{ u: TestUser; account: FakeAccount; botId: string; followId: string }> {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const account = okx.addAccount({ balances: { USDT: '5000' } });
    await connectOkx(t, u, account);
    const f = await follow(t, u, botId, { investment: '1000', mode: 'live' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.5', price: '73384.8', signal_id: `buy-${botId}` });
    await drain(t, botId);
    await readBack(botId);
    await recompute(f.id as string);
    return { u, account, botId, followId: f.id as string };
  }

  const recompute = async (followId: string) => t.app.get((await import('@torgovo/managed-bots')).FollowerPerformanceService).recompute([followId]);

  /** The buy's fill read back from the fake (the worker reads fills after the placements). */
  async function readBack(botId: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1 AND status = 'open'`, [botId])) as Array<{ n: number }>;
      if (n === 0) return;
      if (Date.now() > deadline) throw new Error('fills not read back');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The BTC the follow's book holds (the engine's position: fees in base taken off). */
  const heldBtc = async (userId: string, botId: string) => {
    const { FollowerPerformanceService } = await import('@torgovo/managed-bots');
    const figures = await t.app.get(FollowerPerformanceService).figures([{ id: 'x', user_id: userId, managed_bot_id: botId, mode: 'live' }]);
    return figures.get('x')?.positions.find((p) => p.symbol === 'BTC/USDT')?.amount ?? '0';
  };

  /** Unsubscribes closing positions, the market having moved to `price` since the last fill (the ticker cache is 1 s). */
  async function leaveAt(u: TestUser, botId: string, price: string): Promise<Settlement> {
    await priceAt(price);
    const res = await t.request<{ settlement: Settlement }>('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: { close_positions: true } });
    expect([res.status, lastError(t)]).toEqual([200, '']);
    return res.body.settlement;
  }

  it('the market above the last fill: the gain the close will realise is charged at the ending', async () => {
    const { u, botId, followId } = await liveHolder();
    const [{ equity_at_last_fill, rate }] = (await ds.query(
      `SELECT (investment + net_pnl)::text AS equity_at_last_fill, profit_share_pct::text AS rate FROM managed_bot_follows WHERE id = $1`,
      [followId],
    )) as Array<{ equity_at_last_fill: string; rate: string }>;
    const held = await heldBtc(u.id, botId);
    expect(new Decimal(held).gt(0)).toBe(true);

    const s = await leaveAt(u, botId, '80000');
    // Valued at the bid (80,000), not at the buy's 73,384.8: equity rises by held × the difference.
    const expected = new Decimal(equity_at_last_fill).plus(new Decimal(held).mul(new Decimal('80000').minus('73384.8')));
    expect(new Decimal(s.equity).toFixed(8)).toBe(expected.toFixed(8));
    expect(new Decimal(rate).gt(0)).toBe(true);
    const owed = expected.minus(s.high_water_mark_before).mul(rate).div(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
    expect(owed.gt(0)).toBe(true);
    expect(new Decimal(s.owed).toFixed(2)).toBe(owed.toFixed(2));
    const [{ amount }] = (await ds.query(`SELECT amount_usd::text AS amount FROM payments WHERE user_id = $1 AND kind = 'profit_share'`, [u.id])) as Array<{ amount: string }>;
    expect(new Decimal(amount).toFixed(2)).toBe(owed.toFixed(2));

    // The close then sells at that market price.
    await drain(t, botId);
    await readBack(botId);
    const [close] = (await ds.query(`SELECT status, average::text FROM orders WHERE managed_bot_id = $1 AND source_ref LIKE 'close:%'`, [botId])) as Array<{ status: string; average: string }>;
    expect([close.status, new Decimal(close.average).toFixed()]).toEqual(['filled', '80000']);
  });

  it('the market below the last fill: no share on a gain the close does not realise', async () => {
    const { u, botId, followId } = await liveHolder();
    // A second buy higher up marks the whole position at 76,000: a gain on paper at the last fill.
    await priceAt('76000');
    await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '76000', signal_id: `up-${botId}` });
    await drain(t, botId);
    await readBack(botId);
    await recompute(followId);
    const [{ equity_at_last_fill, mark }] = (await ds.query(
      `SELECT (investment + net_pnl)::text AS equity_at_last_fill, high_water_mark::text AS mark FROM managed_bot_follows WHERE id = $1`,
      [followId],
    )) as Array<{ equity_at_last_fill: string; mark: string }>;
    const held = await heldBtc(u.id, botId);

    // At the last fill (76,000) the follow shows a gain above its mark: the old settlement charged it.
    expect(new Decimal(equity_at_last_fill).gt(mark)).toBe(true);

    const s = await leaveAt(u, botId, '70000');
    // Valued at 70,000, below the cost of both buys: nothing owed.
    const expected = new Decimal(equity_at_last_fill).plus(new Decimal(held).mul(new Decimal('70000').minus('76000')));
    expect(new Decimal(s.equity).toFixed(8)).toBe(expected.toFixed(8));
    expect(new Decimal(s.equity).lt(s.high_water_mark_before)).toBe(true);
    expect(new Decimal(s.owed).isZero()).toBe(true);
    expect((await ds.query(`SELECT count(*)::int AS n FROM payments WHERE user_id = $1 AND kind = 'profit_share'`, [u.id]))[0].n).toBe(0);
  });

  it('a re-follow while the close is under way is refused (409), then starts from the book as the close left it', async () => {
    const { u, botId } = await liveHolder();
    await leaveAt(u, botId, '80000');
    // The closing sell is still pending: a new follow now would count its gain again.
    const early = await t.request<{ code: string }>('POST', '/api/managed-bot/subscribe', {
      token: u.access_token,
      body: { managed_bot_id: botId, investment: '1000', mode: 'live' },
    });
    expect([early.status, early.body.code]).toEqual([409, 'orders_in_progress']);
    expect((await ds.query(`SELECT count(*)::int AS n FROM managed_bot_follows WHERE user_id = $1 AND status = 'active'`, [u.id]))[0].n).toBe(0);

    await drain(t, botId);
    await readBack(botId);
    const again = await follow(t, u, botId, { investment: '1000', mode: 'live' });
    // The new follow's base is the book after the close: its net starts at zero, the close's gain not in it.
    const [row] = (await ds.query(`SELECT net_pnl::text FROM managed_bot_follows WHERE id = $1`, [again.id])) as Array<{ net_pnl: string }>;
    expect(new Decimal(row.net_pnl).isZero()).toBe(true);
    await recompute(again.id as string);
    const [after] = (await ds.query(`SELECT net_pnl::text FROM managed_bot_follows WHERE id = $1`, [again.id])) as Array<{ net_pnl: string }>;
    expect(new Decimal(after.net_pnl).isZero()).toBe(true);
  });
});
