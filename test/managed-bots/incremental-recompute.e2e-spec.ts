import { randomUUID } from 'node:crypto';
import { Decimal } from '@torgovo/core';
import { bookTotals, FollowerPerformanceService } from '@torgovo/managed-bots';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { seedFollowers } from './seed-followers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type FollowRow = { id: string; user_id: string; managed_bot_id: string; mode: 'paper' | 'live' };
type Columns = { net_pnl: string; total_profit: string; total_loss: string; trades: number; wins: number; max_drawdown: string | null; realised_30d: string };

/**
 * The incremental recompute (FollowBooks: each book's FIFO state carried forward, only new fills
 * read) against the full engine over the same orders, exactly, across rounds of random fills:
 * interleaved buys and sells going short, two symbols, fees in base, in quote and in a third
 * currency, fills at the same instant, partly filled orders still open (they grow, then finish),
 * partly filled then canceled ones, fills dated ahead of the clock, and the other mode's fills in
 * the same (user, managed bot). Margin 0 (MANAGED_FOLD_MARGIN_SECONDS) so every round folds.
 */
describe('managed followers: incremental performance recompute = the full FIFO engine (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let perf: FollowerPerformanceService;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, LOG_LEVEL: 'warn', MANAGED_FOLD_MARGIN_SECONDS: '0' });
    ds = t.app.get(DataSource);
    perf = t.app.get(FollowerPerformanceService);
  });
  afterAll(async () => {
    await t?.close();
  });

  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

  async function insert(f: FollowRow, o: { mode: string; symbol: string; side: 'buy' | 'sell'; filled: string; price: string; fee: string | null; feeCurrency: string | null; status: string; at: Date | string; createdAt: Date | string }): Promise<string> {
    const [row] = (await ds.query(
      `INSERT INTO orders (user_id, managed_bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, status,
                           filled, average, cost, fee, fee_currency, client_order_id, created_at, updated_at, closed_at)
       VALUES ($1, $2, 'managed', $3, $4, 'paper', $5, $6, 'market', $7, $8, $9, $10, $9::numeric * $10::numeric, $11, $12, $13, $14, $15, $16)
       RETURNING id`,
      [f.user_id, f.managed_bot_id, `test:${randomUUID()}`, o.mode, o.symbol, o.side, new Decimal(o.filled).mul(2).toFixed(), o.status, o.filled, o.price, o.fee, o.feeCurrency,
        randomUUID().replace(/-/g, ''), o.createdAt, o.at, o.status === 'open' ? null : o.at],
    )) as Array<{ id: string }>;
    return row.id;
  }

  /** One round of random fills for every follow, all dated after the last recompute (some ahead of the clock). */
  async function round(follows: FollowRow[], open: string[]): Promise<void> {
    const start = Date.now();
    let tick = 0;
    for (const f of follows) {
      const n = 3 + Math.floor(rand() * 8);
      for (let i = 0; i < n; i += 1) {
        const symbol = pick(['BTC/USDT', 'ETH/USDT']);
        const base = symbol.split('/')[0];
        const side = rand() < 0.5 ? 'buy' : 'sell';
        const filled = ((1 + Math.floor(rand() * 40)) / 64).toString();
        const price = (symbol === 'BTC/USDT' ? 40000 + Math.floor(rand() * 2000000) / 100 : 2000 + Math.floor(rand() * 100000) / 1000).toString();
        const feeKind = rand();
        const fee = feeKind < 0.35 && side === 'buy' ? [new Decimal(filled).div(1000).toFixed(), base] : feeKind < 0.85 ? [new Decimal(filled).mul(price).div(1000).toFixed(), 'USDT'] : feeKind < 0.93 ? ['0.01', 'OKB'] : [null, null];
        const kind = rand();
        const status = kind < 0.08 ? 'open' : kind < 0.14 ? 'canceled' : 'filled';
        // Same instant as the fill before now and then (ordered by creation); now and then ahead of the clock.
        if (rand() > 0.15) tick += 1;
        const at = new Date(start + tick + (rand() < 0.04 ? 3_600_000 : 0));
        const mode = rand() < 0.1 ? (f.mode === 'paper' ? 'live' : 'paper') : f.mode;
        const id = await insert(f, { mode, symbol, side, filled, price, fee: fee[0], feeCurrency: fee[1], status, at, createdAt: new Date(start + tick + i) });
        if (status === 'open') open.push(id);
      }
    }
    // Some open orders fill more; some of them finish now.
    for (const id of open.splice(0)) {
      const r = rand();
      if (r < 0.3) open.push(id);
      else if (r < 0.6) {
        await ds.query(`UPDATE orders SET filled = filled * 1.5, cost = filled * 1.5 * average, updated_at = clock_timestamp() WHERE id = $1`, [id]);
        open.push(id);
      } else {
        await ds.query(`UPDATE orders SET filled = filled * 2, cost = filled * 2 * average, status = 'filled', closed_at = clock_timestamp(), updated_at = clock_timestamp() WHERE id = $1`, [id]);
      }
    }
    // Every fill of the round is in the past before the recompute (the horizon is "now" with margin 0).
    await sleep(Math.max(0, start + tick + 20 - Date.now()));
  }

  /** What the full engine gives for these follows (the recompute's columns, computed as before the incremental path). */
  async function fromEngine(follows: FollowRow[]): Promise<Map<string, Columns>> {
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const figures = await perf.figures(follows, ds, since);
    return new Map(
      follows.map((f) => {
        const fig = figures.get(f.id);
        const tot = bookTotals(fig);
        return [f.id, {
          net_pnl: tot.net.toFixed(),
          total_profit: tot.profit.toFixed(),
          total_loss: tot.loss.toFixed(),
          trades: fig?.trades ?? 0,
          wins: fig?.wins ?? 0,
          max_drawdown: fig?.max_drawdown ?? null,
          realised_30d: (fig?.daily ?? []).reduce((s, d) => s.plus(d.realised_pnl), new Decimal(0)).toFixed(),
        }];
      }),
    );
  }

  async function stored(follows: FollowRow[]): Promise<Map<string, Columns>> {
    const rows = (await ds.query(
      `SELECT id, net_pnl::text, total_profit::text, total_loss::text, trades, wins, max_drawdown::text, realised_30d::text FROM managed_bot_follows WHERE id = ANY($1::uuid[])`,
      [follows.map((f) => f.id)],
    )) as Array<Columns & { id: string }>;
    const d = (v: string | null) => (v === null ? null : new Decimal(v).toFixed());
    return new Map(rows.map((r) => [r.id, { net_pnl: d(r.net_pnl)!, total_profit: d(r.total_profit)!, total_loss: d(r.total_loss)!, trades: r.trades, wins: r.wins, max_drawdown: d(r.max_drawdown), realised_30d: d(r.realised_30d)! }]));
  }

  it('after every round of random fills the carried-forward books give exactly the full engine\'s figures', async () => {
    const [{ id: botId }] = (await ds.query(`INSERT INTO managed_bots (name, symbols, min_investment) VALUES ('incremental', '["BTC/USDT","ETH/USDT"]', 10) RETURNING id`)) as Array<{ id: string }>;
    await seedFollowers(ds, botId, 6, { tag: 'incr-paper' });
    await seedFollowers(ds, botId, 2, { tag: 'incr-live', mode: 'live' });
    const follows = (await ds.query(`SELECT id, user_id, managed_bot_id, mode FROM managed_bot_follows WHERE managed_bot_id = $1 ORDER BY id`, [botId])) as FollowRow[];
    const open: string[] = [];
    let shorts = 0;
    for (let r = 0; r < 6; r += 1) {
      await round(follows, open);
      // Alternately the job's path (every changed follow) and the explicit one (a user's GET, an unsubscribe).
      if (r % 2 === 0) await perf.recompute(null);
      else await perf.recompute(follows.map((f) => f.id));
      const want = await fromEngine(follows);
      const got = await stored(follows);
      for (const f of follows) expect({ round: r, follow: f.id, ...got.get(f.id) }).toEqual({ round: r, follow: f.id, ...want.get(f.id) });
      const figures = await perf.figures(follows, ds);
      shorts += follows.filter((f) => figures.get(f.id)?.positions.some((p) => new Decimal(p.amount).lt(0))).length;
    }
    // The books were carried forward (not rebuilt), and the cases really occurred.
    const [books] = (await ds.query(`SELECT count(*)::int AS n FROM managed_follow_books WHERE managed_bot_id = $1`, [botId])) as Array<{ n: number }>;
    expect(books.n).toBeGreaterThanOrEqual(follows.length);
    expect(shorts).toBeGreaterThan(0);
    const [cases] = (await ds.query(
      `SELECT count(*) FILTER (WHERE status = 'open' AND filled > 0)::int AS open, count(*) FILTER (WHERE status = 'canceled')::int AS canceled,
              count(*) FILTER (WHERE fee_currency NOT IN ('USDT', 'OKB'))::int AS base_fees
         FROM orders WHERE managed_bot_id = $1`,
      [botId],
    )) as Array<{ open: number; canceled: number; base_fees: number }>;
    expect(cases.open).toBeGreaterThan(0);
    expect(cases.canceled).toBeGreaterThan(0);
    expect(cases.base_fees).toBeGreaterThan(0);
  });

  it('a horizon inside a millisecond is kept to the microsecond: the fills folded just before it are not read and folded again', async () => {
    // The bug this pins: the horizon went through a JS Date (milliseconds). Folded: the fill at
    // .000300; the horizon, the open order's time .000600, was stored as .000 — so the next
    // recompute read the .000300 fill again and folded it a second time (a position of 3, not 2).
    const [{ id: botId }] = (await ds.query(`INSERT INTO managed_bots (name, symbols, min_investment) VALUES ('horizon-us', '["BTC/USDT"]', 10) RETURNING id`)) as Array<{ id: string }>;
    await seedFollowers(ds, botId, 1, { tag: 'horizon-us' });
    const follows = (await ds.query(`SELECT id, user_id, managed_bot_id, mode FROM managed_bot_follows WHERE managed_bot_id = $1`, [botId])) as FollowRow[];
    const [f] = follows;
    const second = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
    const fill = { mode: f.mode, symbol: 'BTC/USDT', side: 'buy' as const, filled: '1', fee: null, feeCurrency: null };
    await insert(f, { ...fill, price: '100', status: 'filled', at: `${second}.000300Z`, createdAt: `${second}.000300Z` });
    const openId = await insert(f, { ...fill, price: '110', status: 'open', at: `${second}.000600Z`, createdAt: `${second}.000600Z` });

    await perf.recompute([f.id]);
    expect((await stored(follows)).get(f.id)).toEqual((await fromEngine(follows)).get(f.id));
    const [{ same }] = (await ds.query(
      `SELECT b.horizon = o.updated_at AS same FROM managed_follow_books b JOIN orders o ON o.id = $2 WHERE b.managed_bot_id = $1`,
      [botId, openId],
    )) as Array<{ same: boolean }>;
    expect(same).toBe(true);

    await perf.recompute([f.id]);
    const want = (await fromEngine(follows)).get(f.id);
    expect((await stored(follows)).get(f.id)).toEqual(want);
    // Long 2 at an average of 105, marked at 110.
    expect(want?.net_pnl).toBe('10');
  });
});
