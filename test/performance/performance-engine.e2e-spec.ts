import { randomUUID } from 'node:crypto';
import { AppConfig, Decimal, validateEnv } from '@torgovo/core';
import { followBookKey, PerformanceEngine, PerformanceFigures } from '@torgovo/trading';
import type { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';

/**
 * The FIFO engine against hand-computed books. Every figure below is worked out by hand in the
 * comments (fees in USDT; a fee in the base currency is worth fee × fill price).
 */

interface Fill {
  side: 'buy' | 'sell';
  filled: string;
  price: string;
  fee?: string;
  feeCurrency?: string;
  at: string;
  status?: 'filled' | 'canceled' | 'open' | 'rejected';
  amount?: string;
  mode?: 'paper' | 'live';
  symbol?: string;
  /** Default `at`: fills of the same time are ordered by creation. */
  createdAt?: string;
}

async function createBot(ds: DataSource, userId: string, symbol: string, allowBeyond = false): Promise<string> {
  const [row] = (await ds.query(
    `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value, allow_selling_beyond_position)
     VALUES ($1, 'b', $2, 'paper', 'paper', 'market', 'base', 1, $3) RETURNING id`,
    [userId, symbol, allowBeyond],
  )) as Array<{ id: string }>;
  return row.id;
}

async function insertFill(ds: DataSource, book: { userId: string; botId?: string; managedBotId?: string }, symbol: string, f: Fill): Promise<void> {
  const status = f.status ?? 'filled';
  const closed = status === 'open' ? null : f.at;
  await ds.query(
    `INSERT INTO orders (user_id, bot_id, managed_bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, status,
                         filled, average, cost, fee, fee_currency, client_order_id, created_at, updated_at, closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'paper', $7, $8, 'market', $9, $10, $11, $12, $11::numeric * $12::numeric, $13, $14, $15, $18, $16, $17)`,
    [
      book.userId,
      book.botId ?? null,
      book.managedBotId ?? null,
      book.botId ? 'webhook' : 'managed',
      randomUUID(),
      f.mode ?? 'paper',
      f.symbol ?? symbol,
      f.side,
      f.amount ?? (f.filled === '0' ? '1' : f.filled),
      status,
      f.filled,
      f.filled === '0' ? null : f.price,
      f.fee ?? null,
      f.fee ? (f.feeCurrency ?? 'USDT') : null,
      randomUUID().replace(/-/g, ''),
      f.at,
      closed,
      f.createdAt ?? f.at,
    ],
  );
}

interface RefFill {
  side: 'buy' | 'sell';
  filled: string;
  price: string;
  fee: string;
  feeCurrency: 'ETH' | 'USDT';
}

/**
 * The textbook FIFO, one fill at a time with a queue of open lots (signed: short lots after selling
 * beyond the position), to check the set-based SQL against.
 */
function referenceFifo(fills: RefFill[]) {
  const lots: Array<{ qty: Decimal; unit: Decimal }> = []; // all long, or all short (qty < 0)
  let realised = new Decimal(0);
  let fees = new Decimal(0);
  let peak = new Decimal(0);
  let drawdown = new Decimal(0);
  let trades = 0;
  let wins = 0;
  for (const f of fills) {
    const px = new Decimal(f.price);
    const feeQ = f.feeCurrency === 'USDT' ? new Decimal(f.fee) : new Decimal(f.fee).mul(px);
    fees = fees.plus(feeQ);
    // Signed quantity and quote value per unit, fees included.
    const qty = f.side === 'buy' ? new Decimal(f.filled).minus(f.feeCurrency === 'ETH' ? f.fee : 0) : new Decimal(f.filled).neg();
    const value = f.side === 'buy' ? new Decimal(f.filled).mul(px).plus(f.feeCurrency === 'USDT' ? f.fee : 0) : new Decimal(f.filled).mul(px).minus(feeQ);
    const unit = value.div(qty.abs());
    let left = qty;
    let pnl: Decimal | null = null;
    while (!left.isZero() && lots.length > 0 && lots[0].qty.isPos() !== left.isPos()) {
      const lot = lots[0];
      const take = Decimal.min(lot.qty.abs(), left.abs());
      // Closing a long with a sell: proceeds − cost; closing a short with a buy: short proceeds − cost.
      const gain = left.isNeg() ? take.mul(unit.minus(lot.unit)) : take.mul(lot.unit.minus(unit));
      pnl = (pnl ?? new Decimal(0)).plus(gain);
      lot.qty = lot.qty.isPos() ? lot.qty.minus(take) : lot.qty.plus(take);
      left = left.isPos() ? left.minus(take) : left.plus(take);
      if (lot.qty.isZero()) lots.shift();
    }
    if (!left.isZero()) lots.push({ qty: left, unit });
    if (pnl !== null) {
      trades += 1;
      if (pnl.isPos()) wins += 1;
      realised = realised.plus(pnl);
      peak = Decimal.max(peak, realised);
      drawdown = Decimal.max(drawdown, peak.minus(realised));
    }
  }
  const amount = lots.reduce((a, l) => a.plus(l.qty), new Decimal(0));
  const openValue = lots.reduce((a, l) => a.plus(l.qty.abs().mul(l.unit)), new Decimal(0));
  const entry = amount.isZero() ? null : openValue.div(amount.abs());
  const last = new Decimal(fills[fills.length - 1].price);
  const unrealised = entry === null ? new Decimal(0) : amount.mul(last.minus(entry));
  return {
    realised: realised.toFixed(),
    fees: fees.toFixed(),
    drawdown: drawdown.toFixed(),
    trades,
    wins,
    amount: amount.toFixed(),
    entry: entry?.toFixed() ?? null,
    unrealised: unrealised.toFixed(),
  };
}

describe('PerformanceEngine (FIFO over filled orders)', () => {
  let db: TestDatabase;
  let engine: PerformanceEngine;
  let user1: string;
  let user2: string;
  let botA: string;
  let botB: string;
  const managedBot = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    const ds = db.dataSource;
    const config = new AppConfig(validateEnv({ APP_TIMEZONE: 'Asia/Karachi', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }));
    engine = new PerformanceEngine(ds, config);
    user1 = await createUser(ds);
    user2 = await createUser(ds);
    botA = await createBot(ds, user1, 'BTC/USDT');
    botB = await createBot(ds, user1, 'ETH/USDT', true);

    // Bot A, BTC/USDT, paper (times UTC; Asia/Karachi is UTC+5).
    const a = { userId: user1, botId: botA };
    // A1 buy 1.001 @ 100, fee 0.001 BTC (= 0.1 USDT): lot L1 = 1 BTC costing 100.1 (unit 100.1).
    await insertFill(ds, a, 'BTC/USDT', { side: 'buy', filled: '1.001', price: '100', fee: '0.001', feeCurrency: 'BTC', at: '2026-11-01T10:00:00Z' });
    // A2 buy 2 @ 110, fee 0.22 USDT: lot L2 = 2 BTC costing 220.22 (unit 110.11).
    await insertFill(ds, a, 'BTC/USDT', { side: 'buy', filled: '2', price: '110', fee: '0.22', at: '2026-11-01T11:00:00Z' });
    // A3 sell 3 @ 120, only 1.5 filled then canceled, fee 0.18 USDT: brings 180 − 0.18 = 179.82 (unit 119.88).
    //    FIFO: 1 of L1 → 119.88 − 100.1 = 19.78; 0.5 of L2 → 0.5 × (119.88 − 110.11) = 4.885. Trade PnL 24.665 (win).
    await insertFill(ds, a, 'BTC/USDT', {
      side: 'sell', amount: '3', filled: '1.5', price: '120', fee: '0.18', status: 'canceled', at: '2026-11-01T23:30:00Z',
    });
    // A4 sell 1 @ 100, fee 0.1: brings 99.9. FIFO: 1 of L2 → 99.9 − 110.11 = −10.21 (loss). Left: 0.5 of L2.
    await insertFill(ds, a, 'BTC/USDT', { side: 'sell', filled: '1', price: '100', fee: '0.1', at: '2026-11-02T10:00:00Z' });
    // Rejected without a fill: not counted.
    await insertFill(ds, a, 'BTC/USDT', { side: 'buy', filled: '0', price: '1', status: 'rejected', at: '2026-11-02T11:00:00Z' });
    // A5 limit buy of 1 @ 105 still open, 0.5 filled, fee 0.0525: lot L3 = 0.5 costing 52.5525 (unit 105.105).
    await insertFill(ds, a, 'BTC/USDT', {
      side: 'buy', amount: '1', filled: '0.5', price: '105', fee: '0.0525', status: 'open', at: '2026-11-03T10:00:00Z',
    });
    // A live fill of the same bot after it switched modes: its own book row. Buy 1 @ 90, fee 0.09.
    await insertFill(ds, a, 'BTC/USDT', { side: 'buy', filled: '1', price: '90', fee: '0.09', mode: 'live', at: '2026-11-03T12:00:00Z' });

    // Bot B, ETH/USDT, paper, allowed to sell beyond its position.
    const b = { userId: user1, botId: botB };
    // B1 sell 2 @ 50, fee 0.1: nothing held → a SHORT of 2 at 99.9 / 2 = 49.95.
    await insertFill(ds, b, 'ETH/USDT', { side: 'sell', filled: '2', price: '50', fee: '0.1', at: '2026-11-04T10:00:00Z' });
    // B2 buy 1 @ 40, fee 0.04: cost 40.04 covers the oldest short unit → 49.95 − 40.04 = 9.91 (win).
    await insertFill(ds, b, 'ETH/USDT', { side: 'buy', filled: '1', price: '40', fee: '0.04', at: '2026-11-04T11:00:00Z' });
    // B3 buy 2 @ 60, fee 0.12: unit 60.06; covers the last short unit → 49.95 − 60.06 = −10.11 (loss); 1 opens long at 60.06.
    await insertFill(ds, b, 'ETH/USDT', { side: 'buy', filled: '2', price: '60', fee: '0.12', at: '2026-11-04T12:00:00Z' });
    // B4 sell 2 @ 70, fee 0.14: unit 69.93; closes the long → 69.93 − 60.06 = 9.87 (win); 1 opens short at 69.93.
    await insertFill(ds, b, 'ETH/USDT', { side: 'sell', filled: '2', price: '70', fee: '0.14', at: '2026-11-05T10:00:00Z' });

    // User 2 follows a managed bot, SOL/USDT, live.
    const c = { userId: user2, managedBotId: managedBot };
    // C1 buy 10.01 @ 20, fee 0.01 SOL (= 0.2 USDT): 10 SOL costing 200.2 (unit 20.02).
    await insertFill(ds, c, 'SOL/USDT', { side: 'buy', filled: '10.01', price: '20', fee: '0.01', feeCurrency: 'SOL', mode: 'live', at: '2026-11-02T09:00:00Z' });
    // C2 sell 10 @ 21, fee 0.21: 209.79 → 10 × (20.979 − 20.02) = 9.59 (win). Flat.
    await insertFill(ds, c, 'SOL/USDT', { side: 'sell', filled: '10', price: '21', fee: '0.21', mode: 'live', at: '2026-11-06T09:00:00Z' });
    // User 2's own bot, never asked for below.
    const other = await createBot(ds, user2, 'BTC/USDT');
    await insertFill(ds, { userId: user2, botId: other }, 'BTC/USDT', { side: 'buy', filled: '5', price: '1', at: '2026-11-02T09:00:00Z' });
  });

  afterAll(async () => {
    await db?.drop();
  });

  const only = (rows: PerformanceFigures[], group: string, mode: string) => {
    const row = rows.find((r) => r.group === group && r.mode === mode);
    if (!row) throw new Error(`no row for ${group}/${mode}`);
    return row;
  };

  it('bot A: partial fill then cancel, fees in base and quote, an open partial buy, a separate live book', async () => {
    const rows = await engine.compute({ botIds: [botA] });
    expect(rows.map((r) => [r.group, r.mode])).toEqual([
      [botA, 'live'],
      [botA, 'paper'],
    ]);
    const paper = only(rows, botA, 'paper');
    expect(paper).toMatchObject({
      quote_currency: 'USDT',
      fills: 5,
      // 0.1 + 0.22 + 0.18 + 0.1 + 0.0525
      fees: '0.6525',
      // 100.1 + 220 + 180 + 100 + 52.5
      volume: '652.6',
      // 24.665 − 10.21
      realised_pnl: '14.455',
      trades: 2,
      wins: 1,
      win_rate: '0.5',
      // cumulative 24.665 then 14.455: fell 10.21 from its peak
      max_drawdown: '10.21',
      // open: 0.5 of L2 (55.055) + L3 0.5 (52.5525) = 1 BTC at 107.6075; last fill 105 → 1 × (105 − 107.6075)
      unrealised_pnl: '-2.6075',
    });
    expect(paper.positions).toEqual([
      { book: botA, symbol: 'BTC/USDT', quote_currency: 'USDT', amount: '1', average_entry: '107.6075', last_price: '105', unrealised_pnl: '-2.6075' },
    ]);
    // Days in Asia/Karachi (UTC+5): A1, A2 on Nov 1; A3 (23:30 UTC) and A4 on Nov 2; A5 on Nov 3.
    expect(paper.daily).toEqual([
      { day: '2026-11-01', realised_pnl: '0', volume: '320.1' },
      { day: '2026-11-02', realised_pnl: '14.455', volume: '280' },
      { day: '2026-11-03', realised_pnl: '0', volume: '52.5' },
    ]);
    // The live fill is a book of its own: 1 BTC at 90.09, marked at 90.
    expect(only(rows, botA, 'live')).toMatchObject({
      fills: 1,
      fees: '0.09',
      realised_pnl: '0',
      trades: 0,
      win_rate: null,
      unrealised_pnl: '-0.09',
      positions: [{ book: botA, symbol: 'BTC/USDT', quote_currency: 'USDT', amount: '1', average_entry: '90.09', last_price: '90', unrealised_pnl: '-0.09' }],
    });
  });

  it('days follow the time zone asked for', async () => {
    const [paper] = await engine.compute({ botIds: [botA], modes: ['paper'], timezone: 'UTC' });
    expect(paper.daily).toEqual([
      { day: '2026-11-01', realised_pnl: '24.665', volume: '500.1' },
      { day: '2026-11-02', realised_pnl: '-10.21', volume: '100' },
      { day: '2026-11-03', realised_pnl: '0', volume: '52.5' },
    ]);
    const [cut] = await engine.compute({ botIds: [botA], modes: ['paper'], timezone: 'UTC', dailyFrom: '2026-11-02', dailyTo: '2026-11-02' });
    expect(cut.daily).toEqual([{ day: '2026-11-02', realised_pnl: '-10.21', volume: '100' }]);
    // The FIFO still runs over the whole history.
    expect(cut.realised_pnl).toBe('14.455');
  });

  it('bot B: selling beyond the position opens a short that later buys close first (FIFO)', async () => {
    const [b] = await engine.compute({ botIds: [botB] });
    expect(b).toMatchObject({
      group: botB,
      mode: 'paper',
      fills: 4,
      fees: '0.4',
      // 9.91 − 10.11 + 9.87
      realised_pnl: '9.67',
      trades: 3,
      wins: 2,
      win_rate: '0.6667',
      // cumulative 9.91, −0.2, 9.67: fell 10.11 from 9.91
      max_drawdown: '10.11',
      // short 1 at 69.93, last 70 → −1 × (70 − 69.93)
      unrealised_pnl: '-0.07',
      positions: [{ book: botB, symbol: 'ETH/USDT', quote_currency: 'USDT', amount: '-1', average_entry: '69.93', last_price: '70', unrealised_pnl: '-0.07' }],
    });
  });

  it('a follower of a managed bot is a book of its own (user, managed bot)', async () => {
    const rows = await engine.compute({ follows: [{ userId: user2, managedBotId: managedBot }] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      group: followBookKey(user2, managedBot),
      mode: 'live',
      // 0.01 SOL × 20 + 0.21
      fees: '0.41',
      realised_pnl: '9.59',
      trades: 1,
      wins: 1,
      win_rate: '1',
      max_drawdown: '0',
      unrealised_pnl: '0',
      positions: [{ book: followBookKey(user2, managedBot), symbol: 'SOL/USDT', quote_currency: 'USDT', amount: '0', average_entry: null, last_price: '21', unrealised_pnl: '0' }],
    });
    // Another user with the same managed bot id has no orders: nothing.
    expect(await engine.compute({ follows: [{ userId: user1, managedBotId: managedBot }] })).toEqual([]);
  });

  it('grouped per user: every book of the user summed, drawdown on the merged curve', async () => {
    const rows = await engine.compute({ userIds: [user1], groupBy: 'user', modes: ['paper'] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      group: user1,
      mode: 'paper',
      fills: 9,
      fees: '1.0525',
      realised_pnl: '24.125',
      trades: 5,
      wins: 3,
      win_rate: '0.6',
      // A: 24.665, 14.455; then B: 24.365, 14.255, 24.125 → from the peak 24.665 down to 14.255
      max_drawdown: '10.41',
      // −2.6075 + −0.07
      unrealised_pnl: '-2.6775',
    });
    expect(rows[0].positions.map((p) => [p.book, p.amount])).toEqual(
      [
        [botA, '1'],
        [botB, '-1'],
      ].sort((x, y) => x[0].localeCompare(y[0])),
    );
  });

  it('grouped all together, live only (the admin view)', async () => {
    const rows = await engine.compute({ all: true, groupBy: 'all', modes: ['live'], timezone: 'UTC' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      group: 'all',
      mode: 'live',
      fills: 3,
      // bot A live 0.09 + follower 0.41
      fees: '0.5',
      realised_pnl: '9.59',
      trades: 1,
    });
    expect(rows[0].daily).toEqual([
      { day: '2026-11-02', realised_pnl: '0', volume: '200.2' },
      { day: '2026-11-03', realised_pnl: '0', volume: '90' },
      { day: '2026-11-06', realised_pnl: '9.59', volume: '210' },
    ]);
  });

  it('agrees with a plain FIFO lot queue on random books (interleaved buys and sells, shorts, fees, same-time fills)', async () => {
    const ds = db.dataSource;
    const user = await createUser(ds);
    // A deterministic generator: the same books every run.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const bots: string[] = [];
    const expected = new Map<string, ReturnType<typeof referenceFifo>>();
    for (let b = 0; b < 4; b++) {
      const bot = await createBot(ds, user, 'ETH/USDT', true);
      bots.push(bot);
      const fills: RefFill[] = [];
      for (let i = 0; i < 60; i++) {
        const side = rand() < (b === 3 ? 0.4 : 0.55) ? 'buy' : 'sell';
        const filled = (1 + Math.floor(rand() * 40)) / 8; // 0.125 … 5
        const price = 100 + Math.floor(rand() * 400) / 4;
        const feeInBase = side === 'buy' && rand() < 0.5;
        const fee = feeInBase ? filled / 1000 : (filled * price) / 1000;
        // Every 7th fill shares its second with the one before: ordered by creation then.
        const at = new Date(Date.UTC(2026, 10, 1) + (i - (i % 7 === 6 ? 1 : 0)) * 3_600_000).toISOString();
        fills.push({ side, filled: String(filled), price: String(price), fee: String(fee), feeCurrency: feeInBase ? 'ETH' : 'USDT' });
        await insertFill(ds, { userId: user, botId: bot }, 'ETH/USDT', { side, filled: String(filled), price: String(price), fee: String(fee), feeCurrency: feeInBase ? 'ETH' : 'USDT', at, createdAt: new Date(Date.UTC(2026, 9, 1) + i * 1000).toISOString() });
      }
      expected.set(bot, referenceFifo(fills));
    }
    const rows = await engine.compute({ botIds: bots });
    // Exact up to the division of a lot's cost into units (18+ decimals): compared within 1e-12.
    const near = (got: string | null, want: string | null) =>
      got === null || want === null ? got === want : new Decimal(got).minus(want).abs().lt('1e-12');
    for (const bot of bots) {
      const got = only(rows, bot, 'paper');
      const want = expected.get(bot)!;
      expect({ trades: got.trades, wins: got.wins }).toEqual({ trades: want.trades, wins: want.wins });
      const pairs: Array<[string, string | null, string | null]> = [
        ['realised', got.realised_pnl, want.realised],
        ['fees', got.fees, want.fees],
        ['drawdown', got.max_drawdown, want.drawdown],
        ['amount', got.positions[0].amount, want.amount],
        ['entry', got.positions[0].average_entry, want.entry],
        ['unrealised', got.unrealised_pnl, want.unrealised],
      ];
      for (const [name, g, w] of pairs) expect({ name, got: g, want: w, near: near(g, w) }).toMatchObject({ name, near: true });
    }
    // The books really cover the cases: some end short, some long, every one closed trades.
    expect(bots.map((b) => Math.sign(Number(expected.get(b)!.amount)))).toEqual(expect.arrayContaining([1, -1]));
  });

  it('nothing asked, nothing returned; unknown ids give no rows', async () => {
    expect(await engine.compute({})).toEqual([]);
    expect(await engine.compute({ botIds: [randomUUID()] })).toEqual([]);
  });
});
