import { Decimal } from '@torgovo/core';
import { LiveReadBacks, OrderRecord, OrderTransitions, PlacementBatchDecider, PlacementDecider, TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { decidedThen } from '../support/decided-then';
import { createUser } from '../trading/support';
import { bootWorker, connectExchange, dueNow, liveTrader, ORDER_PATH, pendingOrder, reload, sleep, TestWorker, waitFor } from './support';

const LIVE_BATCH = { TRADING_LIVE_BATCH_SIZE: '50' };

/**
 * Live orders through the batch path (issue 16): pre-reads per order, one placement decision for the
 * batch, the sends concurrently, one outcome statement. Each case is "claimed (or decided), then a
 * change, then the decision (or the send)"; each order must end as the single path would end it.
 */
describe('live orders executed in batches (e2e, fake OKX with the real ccxt)', () => {
  let db: TestDatabase;
  let fake: FakeOkxServer;
  let w1: TestWorker;
  let w2: TestWorker;
  /** Two sends in flight per batch: a batch of five is decided in three parts. */
  let w3: TestWorker;
  /** One call in flight: one read-back runs at a time, the others wait in its queue. */
  let w4: TestWorker | undefined;
  /** Batches of five, two sends in flight: a claim of five orders is full (placements backlogged). */
  let w5: TestWorker;

  const placed = (a: FakeAccount, clOrdId: string) => [...a.orders.values()].filter((o) => o.clOrdId === clOrdId);
  const posts = (clOrdId: string) => fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(clOrdId)).length;

  async function trader(w: TestWorker = w1): Promise<{ userId: string; account: FakeAccount }> {
    const userId = await createUser(w.ds);
    const account = fake.addAccount({ balances: { USDT: '100000' } });
    await connectExchange(w, userId, account);
    return { userId, account };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await new FakeOkxServer().start();
    const env = { OKX_API_URL: fake.url, TRADING_MAX_ATTEMPTS: '4', ...LIVE_BATCH };
    w1 = await bootWorker(db, env);
    w2 = await bootWorker(db, env);
    w3 = await bootWorker(db, { ...env, TRADING_LIVE_SENDS_IN_FLIGHT: '2' });
    w4 = await bootWorker(db, { ...env, TRADING_LIVE_SENDS_IN_FLIGHT: '1' });
    w5 = await bootWorker(db, { ...env, TRADING_LIVE_SENDS_IN_FLIGHT: '2', TRADING_LIVE_BATCH_SIZE: '5' });
  });
  afterAll(async () => {
    await w1?.close();
    await w2?.close();
    await w3?.close();
    await w4?.close();
    await w5?.close();
    await fake?.stop();
    await db?.drop();
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fake.clearFaults();
  });

  it('N users, one order each: one batch decision, every order placed once with its own keys and recorded', async () => {
    const traders = await Promise.all(Array.from({ length: 6 }, () => trader()));
    const orders = await Promise.all(traders.map((t) => pendingOrder(w1, { user_id: t.userId })));
    const batch = jest.spyOn(w1.ctx.get(PlacementBatchDecider), 'decideBatch');
    const single = jest.spyOn(w1.ctx.get(PlacementDecider), 'decide');
    const results = await w1.manager.runOnce();
    expect(results.filter((r) => orders.some((o) => o.id === r.orderId)).map((r) => r.status)).toEqual(orders.map(() => 'filled'));
    expect(batch).toHaveBeenCalledTimes(1);
    expect(batch.mock.calls[0][1]).toHaveLength(6);
    expect(single).not.toHaveBeenCalled();
    for (const [i, o] of orders.entries()) {
      expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
      const row = await reload(w1.ds, o.id);
      expect(row.status).toBe('filled');
      expect(new Decimal(row.filled!).eq('0.001')).toBe(true);
      expect(row.credential_id).not.toBeNull();
    }
  });

  it('claimed → keys replaced → batch decision: decided again with the new keys, never sent with the old ones', async () => {
    const { userId, account: oldAccount } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const newAccount = fake.addAccount({ balances: { USDT: '100000' } });
    const decider = w1.ctx.get(PlacementBatchDecider);
    const original = decider.decideBatch.bind(decider);
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => {
      // After the pre-reads (made with the old keys), before the decision.
      await w1.ds.query(`UPDATE exchange_credentials SET retired_at = clock_timestamp(), updated_at = now() WHERE user_id = $1 AND retired_at IS NULL`, [userId]);
      await connectExchange(w1, userId, newAccount);
      return original(...args);
    });
    const result = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    expect(result).toMatchObject({ status: 'filled' });
    expect(placed(oldAccount, order.client_order_id)).toHaveLength(0);
    expect(placed(newAccount, order.client_order_id)).toHaveLength(1);
    const current = (await w1.ds.query(`SELECT id FROM exchange_credentials WHERE user_id = $1 AND retired_at IS NULL`, [userId])) as Array<{ id: string }>;
    expect((await reload(w1.ds, order.id)).credential_id).toBe(current[0].id);
  });

  it('a batch larger than the sends in flight is decided part by part; part 1 sent → keys of a part-3 user replaced → part 3 decided: that order is decided again with the new keys, the others placed once', async () => {
    const traders = await Promise.all(Array.from({ length: 5 }, () => trader(w3)));
    const orders: Array<Awaited<ReturnType<typeof pendingOrder>>> = [];
    for (const t of traders) orders.push(await pendingOrder(w3, { user_id: t.userId }));
    const newAccount = fake.addAccount({ balances: { USDT: '100000' } });
    const decider = w3.ctx.get(PlacementBatchDecider);
    const original = decider.decideBatch.bind(decider);
    const parts: string[][] = [];
    let moved: string | undefined;
    jest.spyOn(decider, 'decideBatch').mockImplementation(async (transitions, items, leaseMs) => {
      parts.push(items.map((i) => i.order.id));
      if (parts.length === 3) {
        // Parts 1 and 2 have left (a part is decided only once the sends before it have); this part's user's keys change now.
        moved = items[0].order.user_id;
        await w3.ds.query(`UPDATE exchange_credentials SET retired_at = clock_timestamp(), updated_at = now() WHERE user_id = $1 AND retired_at IS NULL`, [moved]);
        await connectExchange(w3, moved, newAccount);
      }
      return original(transitions, items, leaseMs);
    });
    const results = (await w3.manager.runOnce()).filter((r) => orders.some((o) => o.id === r.orderId));
    expect(results.map((r) => r.status)).toEqual(orders.map(() => 'filled'));
    expect(parts.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 1]);
    expect(parts.slice(0, 3).flat().sort()).toEqual(orders.map((o) => o.id).sort());
    for (const [i, o] of orders.entries()) {
      if (traders[i].userId === moved) {
        // Read with the old keys, decided after they were replaced: never sent with them.
        expect(placed(traders[i].account, o.client_order_id)).toHaveLength(0);
        expect(placed(newAccount, o.client_order_id)).toHaveLength(1);
      } else {
        expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
      }
      expect(posts(o.client_order_id)).toBe(1);
    }
    expect(moved).toBeDefined();
  });

  it('claimed → keys disconnected → batch decision: canceled exchange_disconnected, nothing sent', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const decider = w1.ctx.get(PlacementBatchDecider);
    const original = decider.decideBatch.bind(decider);
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => {
      await w1.ds.query(`DELETE FROM exchange_credentials WHERE user_id = $1`, [userId]);
      return original(...args);
    });
    const result = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    expect(result).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^exchange_disconnected: /) });
    expect(placed(account, order.client_order_id)).toHaveLength(0);
    expect(posts(order.client_order_id)).toBe(0);
  });

  it('one order answered 50011 does not hold up the others; it is retried and placed once', async () => {
    const traders = await Promise.all(Array.from({ length: 3 }, () => trader()));
    const orders = await Promise.all(traders.map((t) => pendingOrder(w1, { user_id: t.userId })));
    fake.inject('rate_limit', { path: ORDER_PATH });
    const first = (await w1.manager.runOnce()).filter((r) => orders.some((o) => o.id === r.orderId));
    expect(first.filter((r) => r.status === 'filled')).toHaveLength(2);
    const retried = first.filter((r) => r.status === 'retry');
    expect(retried).toHaveLength(1);
    expect(retried[0].reason).toMatch(/^rate_limited: /);
    await dueNow(w1.ds, retried[0].orderId);
    const second = (await w1.manager.runOnce()).find((r) => r.orderId === retried[0].orderId);
    expect(second).toMatchObject({ status: 'filled' });
    for (const [i, o] of orders.entries()) expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
  });

  it('a lost answer (connection cut after placing) does not hold up the others and is reconciled by client order id, never placed twice', async () => {
    const traders = await Promise.all(Array.from({ length: 3 }, () => trader()));
    const orders = await Promise.all(traders.map((t) => pendingOrder(w1, { user_id: t.userId })));
    fake.dropNextOrderResponse();
    const first = (await w1.manager.runOnce()).filter((r) => orders.some((o) => o.id === r.orderId));
    expect(first.filter((r) => r.status === 'filled')).toHaveLength(2);
    const retried = first.filter((r) => r.status === 'retry');
    expect(retried).toHaveLength(1);
    expect(retried[0].reason).toMatch(/^network_error: /);
    await dueNow(w1.ds, retried[0].orderId);
    const second = (await w1.manager.runOnce()).find((r) => r.orderId === retried[0].orderId);
    expect(second).toMatchObject({ status: 'filled', reconciled: true });
    for (const [i, o] of orders.entries()) expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
  });

  it('placed → its read-back fails: recorded open with the exchange id (placed once, not sent again), then synced to filled; the others are filled', async () => {
    const traders = await Promise.all(Array.from({ length: 3 }, () => trader()));
    const orders = await Promise.all(traders.map((t) => pendingOrder(w1, { user_id: t.userId })));
    // The placements succeed; the first read of an order (GET, same path) fails.
    fake.inject('server_error', { path: ORDER_PATH, method: 'GET' });
    const first = (await w1.manager.runOnce()).filter((r) => orders.some((o) => o.id === r.orderId));
    expect(first.map((r) => r.status).sort()).toEqual(['filled', 'filled', 'open']);
    const open = orders.find((o) => first.find((r) => r.orderId === o.id)?.status === 'open')!;
    const i = orders.indexOf(open);
    const [onExchange] = placed(traders[i].account, open.client_order_id);
    expect(await reload(w1.ds, open.id)).toMatchObject({ status: 'open', exchange_order_id: onExchange.ordId, attempts: 1, closed_at: null });
    await expect(w2.manager.syncOpenOrders()).resolves.toMatchObject({ changed: 1, errors: 0 });
    expect(await reload(w1.ds, open.id)).toMatchObject({ status: 'filled' });
    for (const [k, o] of orders.entries()) {
      expect(placed(traders[k].account, o.client_order_id)).toHaveLength(1);
      expect(posts(o.client_order_id)).toBe(1);
    }
  });

  /**
   * Five orders of five users through one claim of `w` (sends in parts of two), the fake answering
   * slowly — part 1's reads could start (its outcomes recorded) before part 3 is sent: the order
   * calls reached the fake in; each order placed once and filled.
   */
  async function fiveInParts(w: TestWorker): Promise<string[]> {
    const traders = await Promise.all(Array.from({ length: 5 }, () => trader(w)));
    const orders: OrderRecord[] = [];
    for (const t of traders) orders.push(await pendingOrder(w, { user_id: t.userId }));
    fake.latencyMs = 100;
    const from = fake.requests.length;
    const results = (await w.manager.runOnce()).filter((r) => orders.some((o) => o.id === r.orderId));
    expect(results.map((r) => r.status)).toEqual(orders.map(() => 'filled'));
    for (const [i, o] of orders.entries()) {
      expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
      expect(await reload(w.ds, o.id)).toMatchObject({ status: 'filled', closed_at: expect.any(Date) });
    }
    return fake.requests.slice(from).filter((r) => r.path === ORDER_PATH).map((r) => r.method);
  }

  it('backlogged (the claim came back full), a batch in parts: every placement leaves before any read-back, and each order ends filled', async () => {
    // Before, each slot placed and then read its order (POST, GET, POST, …).
    expect(await fiveInParts(w5)).toEqual(['POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'GET', 'GET', 'GET', 'GET']);
  });

  it('no backlog (the claim came back partial), a batch in parts: part 1’s reads start while part 3 is still to be sent — a steady flow’s fills are not held back', async () => {
    const calls = await fiveInParts(w3);
    expect(calls.filter((m) => m === 'POST')).toHaveLength(5);
    expect(calls.indexOf('GET')).toBeLessThan(calls.lastIndexOf('POST'));
  });

  it('placed → recorded open with the exchange id before its read-back; the sync leaves it to the read-back; read → filled once', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const reads = fake.hold('GET', ORDER_PATH);
    const run = w1.manager.runOnce();
    await waitFor(async () => (await reload(w1.ds, order.id)).status === 'open', 10_000);
    const [onExchange] = placed(account, order.client_order_id);
    // Acknowledged: on the exchange, out of the claim, the fill not read yet.
    const acked = await reload(w1.ds, order.id);
    expect(acked).toMatchObject({ status: 'open', exchange_order_id: onExchange.ordId, closed_at: null, acknowledged_at: expect.any(Date) });
    expect(new Decimal(acked.filled!).isZero()).toBe(true);
    const readsOf = () => fake.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH && r.url.includes(onExchange.ordId)).length;
    await waitFor(() => readsOf() === 1, 5_000);
    // The sync skips an order this worker is reading back: no second read of it.
    await w1.manager.syncOpenOrders();
    expect(readsOf()).toBe(1);
    reads.release();
    expect((await run).find((r) => r.orderId === order.id)).toMatchObject({ status: 'filled' });
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'filled', exchange_order_id: onExchange.ordId, closed_at: expect.any(Date) });
    expect(new Decimal((await reload(w1.ds, order.id)).filled!).eq('0.001')).toBe(true);
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('the sync lists open orders → meanwhile an order is recorded open and queued to be read back → the sync does not read it too', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const readBacks = w1.ctx.get(LiveReadBacks);
    const reads = fake.hold('GET', ORDER_PATH);
    const query = w1.ds.query.bind(w1.ds);
    // The sync's listing is built (nothing queued yet) but waits for a connection until the order is queued.
    jest.spyOn(w1.ds, 'query').mockImplementation(async (...args: Parameters<DataSource['query']>) => {
      if (args[0].includes('NOT (id = ANY(')) await waitFor(() => readBacks.resultOf(order.id) !== undefined, 10_000);
      return query(...args);
    });
    const sync = w1.manager.syncOpenOrders();
    const run = w1.manager.runOnce();
    await sync;
    const [onExchange] = placed(account, order.client_order_id);
    const readsOf = () => fake.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH && r.url.includes(onExchange.ordId)).length;
    // Only its own read-back (held), not a second one by the sync.
    await waitFor(() => readsOf() >= 1, 5_000);
    expect(readsOf()).toBe(1);
    reads.release();
    expect((await run).find((r) => r.orderId === order.id)).toMatchObject({ status: 'filled' });
  });

  it('an open order read twice (this worker’s read-back, another worker’s sync): the later fill written first, the earlier read written after it does not take the fill back', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '60000' });
    await w1.manager.runOnce();
    const [resting] = placed(account, order.client_order_id);
    const row = await reload(w1.ds, order.id);
    expect(row.status).toBe('open');
    const read = (filled: string, status: 'open' | 'filled' = 'open') => ({
      status,
      filled,
      average: '60000',
      cost: new Decimal(filled).times(60000).toFixed(),
      fee: '0',
      fee_currency: 'BTC',
      exchange_order_id: resting.ordId,
      final: status !== 'open',
      reason: null,
    });
    const transitions = w1.ctx.get(OrderTransitions);
    // Read A answered 0.004; read B answered 0.007 later, and is written first.
    expect([...(await transitions.syncOpenMany([{ id: order.id, outcome: read('0.007') }]))]).toEqual([order.id]);
    // A's write arrives now: not applied.
    expect((await transitions.syncOpenMany([{ id: order.id, outcome: read('0.004') }])).size).toBe(0);
    expect(new Decimal((await reload(w1.ds, order.id)).filled!).eq('0.007')).toBe(true);
    // The fill goes on: written.
    expect((await transitions.syncOpenMany([{ id: order.id, outcome: read('0.01', 'filled') }])).size).toBe(1);
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'filled', closed_at: expect.any(Date) });
  });

  it('placed → read-backs queued → the worker stops: the queued ones are dropped, and the sync reads those orders; nothing is placed twice', async () => {
    const traders = await Promise.all(Array.from({ length: 3 }, () => trader(w4!)));
    const orders: OrderRecord[] = [];
    for (const t of traders) orders.push(await pendingOrder(w4!, { user_id: t.userId }));
    const reads = fake.hold('GET', ORDER_PATH);
    const from = fake.requests.length;
    const run = w4!.manager.runOnce();
    const readsSent = () => fake.requests.slice(from).filter((r) => r.method === 'GET' && r.path === ORDER_PATH).length;
    // One read runs (held), two wait in the queue.
    await waitFor(() => readsSent() === 1, 10_000);
    await waitFor(async () => (await Promise.all(orders.map((o) => reload(w4!.ds, o.id)))).every((r) => r.status === 'open'), 10_000);
    const closing = w4!.close();
    w4 = undefined;
    await sleep(100);
    reads.release();
    await closing;
    await run.catch(() => undefined);
    // The read that was running is written; the two dropped ones were never sent.
    expect(readsSent()).toBe(1);
    const after = await Promise.all(orders.map((o) => reload(w1.ds, o.id)));
    expect(after.map((r) => r.status).sort()).toEqual(['filled', 'open', 'open']);
    await expect(w1.manager.syncOpenOrders()).resolves.toMatchObject({ errors: 0 });
    for (const [i, o] of orders.entries()) {
      expect((await reload(w1.ds, o.id)).status).toBe('filled');
      expect(placed(traders[i].account, o.client_order_id)).toHaveLength(1);
      expect(posts(o.client_order_id)).toBe(1);
    }
  });

  it('decided → its sends leave 4 s later (a worker short of CPU): sent all the same, OKX’s expTime bound to the decision (+13 s), not to when the call left; placed once', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const decider = w1.ctx.get(PlacementBatchDecider);
    const original = decider.decideBatch.bind(decider);
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => {
      const verdicts = await original(...args);
      await sleep(4_000); // the event loop busy elsewhere between the decision and the sends
      return verdicts;
    });
    const result = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    expect(result).toMatchObject({ status: 'filled' });
    expect(placed(account, order.client_order_id)).toHaveLength(1);
    const [post] = fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(order.client_order_id));
    const decidedAt = (await reload(w1.ds, order.id)).sent_at!.getTime();
    // The call's timeout from when it left would have been ~decision + 14 s: past the fence's 15 s less its margin.
    expect(Number(post.headers.exptime)).toBeLessThanOrEqual(decidedAt + 13_000 + 50);
    expect(Number(post.headers.exptime)).toBeGreaterThan(post.at);
  });

  it('decided → its sends could leave only past the deadline (12 s later): nothing is sent, each is retried, looked up and placed once', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const decider = w1.ctx.get(PlacementBatchDecider);
    const original = decider.decideBatch.bind(decider);
    const realNow = Date.now.bind(Date);
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => {
      const verdicts = await original(...args);
      // 12.5 s later, as the worker sees it.
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 12_500);
      return verdicts;
    });
    const first = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    jest.restoreAllMocks();
    expect(first).toMatchObject({ status: 'retry', reason: expect.stringMatching(/could not leave in time/) });
    expect(posts(order.client_order_id)).toBe(0);
    await dueNow(w1.ds, order.id);
    const second = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    expect(second).toMatchObject({ status: 'filled', reconciled: false });
    expect(placed(account, order.client_order_id)).toHaveLength(1);
  });

  it('two workers claiming batches at once: every order placed exactly once', async () => {
    const traders = await Promise.all(Array.from({ length: 20 }, () => trader()));
    // Two orders per user: FIFO per queue, each user's second order after the first.
    const orders = [];
    for (const t of traders) orders.push(await pendingOrder(w1, { user_id: t.userId }), await pendingOrder(w1, { user_id: t.userId }));
    await Promise.all([w1.manager.runUntilIdle(), w2.manager.runUntilIdle()]);
    for (const [i, o] of orders.entries()) {
      expect((await reload(w1.ds, o.id)).status).toBe('filled');
      expect(placed(traders[Math.floor(i / 2)].account, o.client_order_id)).toHaveLength(1);
      expect(posts(o.client_order_id)).toBe(1);
    }
    for (const [i, t] of traders.entries()) {
      const [a, b] = [placed(t.account, orders[2 * i].client_order_id)[0], placed(t.account, orders[2 * i + 1].client_order_id)[0]];
      expect(a.cTime).toBeLessThanOrEqual(b.cTime);
    }
  });

  it('two open orders of one bot read back in one write: both recorded, the position moved by both (not the whole write refused)', async () => {
    const { userId } = await trader();
    const [{ id: botId }] = (await w1.ds.query(
      `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value) VALUES ($1, 'two reads', 'BTC/USDT', 'live', 'okx', 'limit', 'base', 1) RETURNING id`,
      [userId],
    )) as Array<{ id: string }>;
    // Two limit buys of the bot resting on the exchange (placed in successive batches), both filled since.
    const orders = [await pendingOrder(w1, { user_id: userId, bot_id: botId, type: 'limit' }), await pendingOrder(w1, { user_id: userId, bot_id: botId, type: 'limit' })];
    await w1.ds.query(`UPDATE orders SET status = 'open', sent_at = now(), acknowledged_at = now() WHERE id = ANY($1::uuid[])`, [orders.map((o) => o.id)]);
    const filled = (o: OrderRecord, amount: string) => ({
      id: o.id,
      outcome: { status: 'filled' as const, filled: amount, average: '73384.8', cost: new Decimal(amount).mul('73384.8').toFixed(), fee: '0', fee_currency: 'USDT', exchange_order_id: `x-${o.id}`, final: true, reason: null },
    });
    // A third order of another bot in the same write is not held up either.
    const other = await pendingOrder(w1, { user_id: (await trader()).userId });
    await w1.ds.query(`UPDATE orders SET status = 'open', sent_at = now(), acknowledged_at = now() WHERE id = $1`, [other.id]);
    const written = await w1.ctx.get(OrderTransitions).syncOpenMany([filled(orders[0], '0.001'), filled(orders[1], '0.002'), filled(other, '0.001')]);
    expect([...written].sort()).toEqual([orders[0].id, orders[1].id, other.id].sort());
    for (const o of [...orders, other]) expect((await reload(w1.ds, o.id)).status).toBe('filled');
    const [position] = (await w1.ds.query(`SELECT amount::text FROM bot_positions WHERE bot_id = $1`, [botId])) as Array<{ amount: string }>;
    expect(new Decimal(position.amount).toFixed()).toBe('0.003');
  });
});

describe('live batches and the send fence (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let manager: TradingManager;
  let decider: PlacementBatchDecider;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, ...LIVE_BATCH, OKX_API_URL: okx.url });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
    decider = t.app.get(PlacementBatchDecider);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  const liveBot = () => liveTrader(t, okx, 'live batch');

  const status = async (id: string) => ((await ds.query(`SELECT status, reason FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string | null }>)[0];

  it('claimed → bot stopped → batch decision: canceled bot_stopped, nothing sent; the other bot’s order is placed', async () => {
    const a = await liveBot();
    const b = await liveBot();
    const [idA, idB] = [await a.alert(), await b.alert()];
    const original = decider.decideBatch.bind(decider);
    let stop: HttpResult | undefined;
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => {
      stop = await t.request('POST', `/api/bots/${a.botId}/stop`, { token: a.u.access_token });
      return original(...args);
    });
    await manager.runOnce();
    expect(stop?.status).toBe(200);
    expect(await status(idA)).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^bot_stopped: /) });
    expect([...a.account.orders.values()]).toHaveLength(0);
    expect((await status(idB)).status).toBe('filled');
    expect([...b.account.orders.values()]).toHaveLength(1);
  });

  it('placed, its read-back held → POST /bots/{id}/stop answers without waiting for the read → read: filled, the bot’s position moved', async () => {
    const { u, account, botId, alert } = await liveBot();
    const id = await alert();
    const reads = okx.hold('GET', ORDER_PATH);
    const run = manager.runOnce();
    await waitFor(async () => (await status(id)).status === 'open', 10_000);
    // The send reached OKX and was recorded: the stop's fence has nothing to wait for.
    const stop = await Promise.race([t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token }), sleep(5_000).then(() => 'waited' as const)]);
    expect(stop).not.toBe('waited');
    expect((stop as HttpResult).status).toBe(200);
    expect((await status(id)).status).toBe('open');
    reads.release();
    await run;
    expect((await status(id)).status).toBe('filled');
    // Moved by the fill read back: its base less a fee charged in base.
    const [row] = (await ds.query(`SELECT filled, fee, fee_currency FROM orders WHERE id = $1`, [id])) as Array<{ filled: string; fee: string; fee_currency: string }>;
    expect(new Decimal(row.filled).eq('0.001')).toBe(true);
    const [position] = (await ds.query(`SELECT amount FROM bot_positions WHERE bot_id = $1`, [botId])) as Array<{ amount: string }>;
    expect(new Decimal(position.amount).eq(new Decimal(row.filled).minus(row.fee_currency === 'BTC' ? row.fee : 0))).toBe(true);
    expect(new Decimal(position.amount).gt(0)).toBe(true);
    expect([...account.orders.values()]).toHaveLength(1);
  });

  it('decided → POST /bots/{id}/stop → the sends: the stop answers only after the batch’s send reached OKX', async () => {
    const { u, account, botId, alert } = await liveBot();
    const id = await alert();
    const { res, answeredAt, answeredBeforeSend } = await decidedThen(decider, manager, () => t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token }));
    expect(res.status).toBe(200);
    expect(answeredBeforeSend).toBe(false);
    const sent = [...account.orders.values()];
    expect(sent).toHaveLength(1);
    expect(answeredAt).toBeGreaterThanOrEqual(sent[0].cTime);
    expect((await status(id)).status).toBe('filled');
    // Nothing after the stop: a next alert is refused or canceled, never placed.
    await manager.runUntilIdle(5_000);
    expect([...account.orders.values()]).toHaveLength(1);
  });

});
