import { randomUUID } from 'node:crypto';
import { PnlDayRollupJob } from '@torgovo/trading';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

const TZ = 'Asia/Karachi';

interface Pnl {
  computed_at: string | null;
  by_day: Array<{ day: string; realised_pnl_usd: string }>;
}

// PnL by day in GET /admin/trading/stats: the FIFO engine's realised PnL of every book, recomputed
// by the worker into pnl_day_stats; the endpoint reads only that table.
describe('admin trading stats: realised PnL by day (FIFO, from the worker rollup)', () => {
  let t: TestApp;
  let root: { id: string; access_token: string };
  let user: string;
  let bot: string;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, APP_TIMEZONE: TZ });
    root = await t.admin();
    user = (await t.register()).id;
    [{ id: bot }] = (await t.db.dataSource.query(
      `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value) VALUES ($1, 'b', 'BTC/USDT', 'paper', 'paper', 'market', 'base', 1) RETURNING id`,
      [user],
    )) as Array<{ id: string }>;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function fill(side: 'buy' | 'sell', filled: string, price: string, at: string, o: { symbol?: string; mode?: string; fee?: string } = {}): Promise<void> {
    await t.db.dataSource.query(
      `INSERT INTO orders (user_id, bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, status, filled, average, cost, fee, fee_currency,
                           client_order_id, created_at, updated_at, closed_at)
       VALUES ($1, $2, 'webhook', $3, $4, 'paper', $5, $6, 'market', $7, 'filled', $7, $8, $7::numeric * $8::numeric, $9, CASE WHEN $9::numeric IS NOT NULL THEN 'USDT' END,
               $10, $11, $11, $11)`,
      [user, bot, randomUUID(), o.mode ?? 'paper', o.symbol ?? 'BTC/USDT', side, filled, price, o.fee ?? null, randomUUID().replace(/-/g, ''), at],
    );
  }

  const pnl = async (query: string): Promise<Pnl> => {
    const res = await t.request<{ pnl: Pnl }>('GET', `/api/admin/trading/stats?${query}`, { token: root.access_token });
    expect(res.status).toBe(200);
    return res.body.pnl;
  };

  it('shows nothing before the worker computed it, then FIFO realised PnL on the day each trade closed', async () => {
    // Karachi days: buys on the 1st and 2nd, a sell on the 3rd closing the first lot and half the second.
    await fill('buy', '1', '100', '2026-03-01T10:00:00Z');
    await fill('buy', '1', '120', '2026-03-02T10:00:00Z');
    await fill('sell', '1.5', '130', '2026-03-03T10:00:00Z', { fee: '1.5' });
    // 2026-03-03T20:00Z is the 4th in Karachi: the last half lot (cost 60) sold for 70.
    await fill('sell', '0.5', '140', '2026-03-03T20:00:00Z');
    // Not in USD: left out of the USD figure (the engine keeps it apart by quote currency).
    await fill('buy', '1', '0.05', '2026-03-03T10:00:00Z', { symbol: 'ETH/BTC' });
    await fill('sell', '1', '0.06', '2026-03-04T10:00:00Z', { symbol: 'ETH/BTC' });

    const range = 'from=2026-03-01&to=2026-03-05';
    const before = await pnl(range);
    expect(before.computed_at).toBeNull();
    expect(before.by_day.map((d) => d.realised_pnl_usd)).toEqual(['0', '0', '0', '0', '0']);

    expect(await t.app.get(PnlDayRollupJob).tick()).toBeGreaterThan(0);
    const after = await pnl(range);
    expect(Date.parse(after.computed_at!)).toBeGreaterThan(Date.now() - 60_000);
    // 3rd: 1.5 × 130 − 1.5 fee = 193.5 against 100 + 0.5 × 120 = 160 → 33.5; 4th: 70 − 60 = 10.
    expect(after.by_day).toEqual([
      { day: '2026-03-01', realised_pnl_usd: '0' },
      { day: '2026-03-02', realised_pnl_usd: '0' },
      { day: '2026-03-03', realised_pnl_usd: '33.5' },
      { day: '2026-03-04', realised_pnl_usd: '10' },
      { day: '2026-03-05', realised_pnl_usd: '0' },
    ]);
    // Live only: none of these.
    expect((await pnl(`${range}&mode=live`)).by_day.every((d) => d.realised_pnl_usd === '0')).toBe(true);
  });

  it('a fill recorded after the computation shows at the next one; the table is replaced, never added to', async () => {
    await fill('buy', '1', '200', '2026-03-05T10:00:00Z', { mode: 'live' });
    await fill('sell', '1', '150', '2026-03-05T12:00:00Z', { mode: 'live' });
    const range = 'from=2026-03-03&to=2026-03-05';
    expect((await pnl(range)).by_day.map((d) => d.realised_pnl_usd)).toEqual(['33.5', '10', '0']);
    await t.app.get(PnlDayRollupJob).tick();
    await t.app.get(PnlDayRollupJob).tick();
    expect((await pnl(range)).by_day.map((d) => d.realised_pnl_usd)).toEqual(['33.5', '10', '-50']);
    expect((await pnl(`${range}&mode=live`)).by_day.map((d) => d.realised_pnl_usd)).toEqual(['0', '0', '-50']);
  });
});
