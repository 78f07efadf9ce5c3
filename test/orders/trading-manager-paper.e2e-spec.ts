import { Decimal } from '@torgovo/core';
import { ExchangeGatewayFactory, OrderClaimer } from '@torgovo/trading';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, dueNow, pendingOrder, reload, settle, sleep, TestWorker, waitFor } from './support';

describe('TradingManager on the paper exchange', () => {
  let db: TestDatabase;
  let w: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    w = await bootWorker(db);
  });
  afterAll(async () => {
    await w?.close();
    await db?.drop();
  });

  const paper = { mode: 'paper' as const, exchange: 'paper' };

  it('fills a pending market buy at the signal price, with the fee, on the paper account', async () => {
    const user = await createUser(w.ds);
    const order = await pendingOrder(w, { ...paper, user_id: user, symbol: 'ETH/USDT', amount: '1.5', price: '2500' });
    const results = await w.manager.runOnce();
    expect(results).toEqual([{ orderId: order.id, status: 'filled', reconciled: false, reason: null }]);

    const row = await reload(w.ds, order.id);
    expect(row).toMatchObject({ status: 'filled', attempts: 1, reason: null, fee_currency: 'ETH' });
    expect([row.filled, row.average, row.cost, row.fee].map(Number)).toEqual([1.5, 2500, 3750, 0.0015]);
    expect(row.exchange_order_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.closed_at).toBeInstanceOf(Date);
    await expect(w.ctx.get(OrderClaimer).claim(8, 60_000)).resolves.toEqual([]);
    const balances: Array<{ currency: string; free: string }> = await w.ds.query(
      `SELECT currency, free::text FROM paper_balances WHERE user_id = $1 ORDER BY currency`,
      [user],
    );
    expect(balances.map((b) => [b.currency, Number(b.free)])).toEqual([['ETH', 1.4985], ['USDT', 6250]]);
    expect(w.logs.text()).toContain(order.client_order_id);
  });

  it('rejects a buy the paper balance cannot pay for, with the reason, and never retries it', async () => {
    const user = await createUser(w.ds);
    const order = await pendingOrder(w, { ...paper, user_id: user, amount: '1', price: '73384.8' });
    const [result] = await w.manager.runOnce();
    expect(result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/insufficient/i) });
    const row = await reload(w.ds, order.id);
    expect(row).toMatchObject({ status: 'rejected', attempts: 1, filled: '0.000000000000000000' });
    expect(row.reason).toMatch(/USDT/);
    await expect(w.manager.runOnce()).resolves.toEqual([]);
  });

  it('converts a quote amount at the tick-rounded price it fills at: the whole balance at an off-tick price fills within it', async () => {
    const user = await createUser(w.ds);
    // 10000 USDT is the whole paper balance; 30000.05 lies between BTC/USDT ticks (0.1): a buy fills at 30000.
    const order = await pendingOrder(w, { ...paper, user_id: user, amount: null, quote_amount: '10000', price: '30000.05' });
    const row = await settle(w, order.id);
    expect({ status: row.status, reason: row.reason }).toEqual({ status: 'filled', reason: null });
    expect([row.filled, row.average].map((v) => new Decimal(v!).toFixed())).toEqual(['0.33333333', '30000']);
    expect(new Decimal(row.cost!).lte(10000)).toBe(true);
  });

  it('sizes a quote-amount buy at the signal price, rounded down to the lot size', async () => {
    const user = await createUser(w.ds);
    const order = await pendingOrder(w, { ...paper, user_id: user, amount: null, quote_amount: '100', price: '30000' });
    await w.manager.runOnce();
    const row = await reload(w.ds, order.id);
    expect(row.status).toBe('filled');
    expect(Number(row.filled)).toBe(0.00333333);
    expect(Number(row.cost)).toBeLessThanOrEqual(100);
    expect(row.amount).toBeNull();
  });

  it('rejects below the minimum size before sending, and an order without any price', async () => {
    const user = await createUser(w.ds);
    const tiny = await pendingOrder(w, { ...paper, user_id: user, amount: '0.0000001' });
    await w.manager.runOnce();
    expect((await reload(w.ds, tiny.id)).reason).toMatch(/minimum order size/);
    const noPrice = await pendingOrder(w, { ...paper, user_id: user, price: null });
    await w.manager.runOnce();
    expect(await reload(w.ds, noPrice.id)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/no price/) });
  });

  it("runs one user's orders one at a time, oldest first, and different users side by side", async () => {
    const [u1, u2] = [await createUser(w.ds), await createUser(w.ds)];
    const first = await pendingOrder(w, { ...paper, user_id: u1, amount: '0.01' });
    const second = await pendingOrder(w, { ...paper, user_id: u1, amount: '0.02' });
    const other = await pendingOrder(w, { ...paper, user_id: u2, amount: '0.03' });
    const claimer = w.ctx.get(OrderClaimer);
    const claimed = await claimer.claim(8, 60_000);
    expect(claimed.map((o) => o.id).sort()).toEqual([first.id, other.id].sort());
    // u1 is busy (its head is submitting under a live lease): nothing more for it, from any worker.
    await expect(claimer.claim(8, 60_000)).resolves.toEqual([]);
    await w.ds.query(`UPDATE orders SET status = 'filled' WHERE id = $1`, [first.id]);
    await expect(claimer.claim(8, 60_000)).resolves.toMatchObject([{ id: second.id, attempts: 1 }]);
  });

  it('picks users by their head order being due: users whose head is in backoff do not take the claim LIMIT from a user who can run', async () => {
    const claimer = w.ctx.get(OrderClaimer);
    const [a1, a2, b] = [await createUser(w.ds), await createUser(w.ds), await createUser(w.ds)];
    const heads = [];
    for (const u of [a1, a2]) {
      heads.push(await pendingOrder(w, { ...paper, user_id: u })); // in backoff below
      await pendingOrder(w, { ...paper, user_id: u }); // queued behind it, due, but FIFO keeps it waiting
    }
    const other = await pendingOrder(w, { ...paper, user_id: b });
    // What retryLater leaves after a transient failure (e.g. a 429 for that account): pending, due later.
    await w.ds.query(
      `UPDATE orders SET attempts = 1, next_attempt_at = now() + interval '1 minute', reason = 'rate_limited: Too Many Requests' WHERE id = ANY($1::uuid[])`,
      [heads.map((h) => h.id)],
    );
    try {
      // Two free slots, three users with due orders; only b's head can run now.
      const claimed = await claimer.claim(2, 60_000);
      expect(claimed.map((o) => o.id)).toEqual([other.id]);
    } finally {
      await w.ds.query(`UPDATE orders SET status = 'canceled' WHERE user_id = ANY($1::uuid[])`, [[a1, a2, b]]);
    }
  });

  it('stop() waits for a claim under way, and that claim takes nothing once the stop began', async () => {
    // Its own worker, loop on: the claim runs from the poll, not from the test.
    const ws = await bootWorker(db, { TRADING_SYNC_INTERVAL_MS: '0', TRADING_NOTIFY_ENABLED: 'false', TRADING_SHUTDOWN_GRACE_MS: '500' });
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    const order = await pendingOrder(ws, { ...paper, user_id: await createUser(ws.ds) });
    try {
      // A slow claim (the database is busy): the claim's query waits on this table lock.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      ws.manager.start();
      const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      await waitFor(async () => (await db.dataSource.query(waiting))[0].n > 0, 10_000);
      const started = Date.now();
      await ws.manager.stop(); // what beforeApplicationShutdown awaits
      expect(Date.now() - started).toBeGreaterThanOrEqual(450); // it waited (bounded) for the claim
      await locker.query('COMMIT');
      await waitFor(async () => (await db.dataSource.query(waiting))[0].n === 0, 10_000);
      await sleep(300);
      // In a real shutdown the DataSource is destroyed next: a claim committed now would leave the
      // order `submitting` until its lease passed.
      expect(await reload(w.ds, order.id)).toMatchObject({ status: 'pending', attempts: 0 });
      await expect(ws.manager.runOnce()).resolves.toEqual([]);
    } finally {
      await locker.end();
      await ws.close();
      await w.ds.query(`UPDATE orders SET status = 'canceled' WHERE id = $1`, [order.id]); // out of the next tests' way
    }
  });

  it('reconciles an order a crashed worker left in submitting: found by client order id, not placed again', async () => {
    const user = await createUser(w.ds);
    const order = await pendingOrder(w, { ...paper, user_id: user, amount: '0.01', price: '60000' });
    // The "crashed" worker: it claimed the order and placed it, then died before recording anything.
    const [claimed] = await w.ctx.get(OrderClaimer).claim(1, 60_000);
    expect(claimed.id).toBe(order.id);
    // It had passed the fencing statement (which marks the order as possibly sent), then placed it.
    await w.ds.query(`UPDATE orders SET sent_at = now() WHERE id = $1`, [order.id]);
    await w.ctx.get(ExchangeGatewayFactory).forPaper(user).createOrder({
      symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.01', price: '60000', clientOrderId: order.client_order_id,
    });
    await expect(w.manager.runOnce()).resolves.toEqual([]); // still under its lease
    await dueNow(w.ds, order.id); // the lease ran out

    const [result] = await w.manager.runOnce();
    expect(result).toEqual({ orderId: order.id, status: 'filled', reconciled: true, reason: null });
    expect(await reload(w.ds, order.id)).toMatchObject({ status: 'filled', attempts: 2 });
    const [{ n }] = await w.ds.query(`SELECT count(*)::int AS n FROM paper_orders WHERE client_order_id = $1`, [order.client_order_id]);
    expect(n).toBe(1);
    const [{ usdt }] = await w.ds.query(`SELECT free::text AS usdt FROM paper_balances WHERE user_id = $1 AND currency = 'USDT'`, [user]);
    expect(Number(usdt)).toBe(9400); // paid once
  });

  it('keeps a resting limit order open until a later fill crosses it; the sync then records its fill', async () => {
    const user = await createUser(w.ds);
    const order = await pendingOrder(w, { ...paper, user_id: user, type: 'limit', amount: '0.01', price: '50000' });
    await w.manager.runOnce();
    expect(await reload(w.ds, order.id)).toMatchObject({ status: 'open', closed_at: null });
    await expect(w.manager.syncOpenOrders()).resolves.toMatchObject({ checked: 1, changed: 0, errors: 0 });
    expect((await reload(w.ds, order.id)).status).toBe('open');

    // The next alert fills at 49,500: the paper market traded through the 50,000 buy limit.
    await pendingOrder(w, { ...paper, user_id: user, amount: '0.001', price: '49500' });
    await w.manager.runOnce();
    await expect(w.manager.syncOpenOrders()).resolves.toMatchObject({ checked: 1, changed: 1, errors: 0 });
    const filled = await reload(w.ds, order.id);
    expect(filled).toMatchObject({ status: 'filled', fee_currency: 'BTC' });
    expect([filled.filled, filled.average, filled.cost].map((v) => new Decimal(v!).toFixed())).toEqual(['0.01', '50000', '500']);
  });
});
