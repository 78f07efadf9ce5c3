import { OrderClaimer, PaperBatchFills, PlacementBatchDecider, PlacementDecider, TradingManager } from '@torgovo/trading';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { generateWebhook, sendAlert, subscribe, TestUser } from '../custom-bots/support';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, pendingOrder, TestWorker } from './support';

/**
 * The worker's batch path for paper orders (OrderBatchExecutor, PlacementBatchDecider,
 * PaperBatchFills): many claimed orders decided in one transaction, filled in one, recorded in one.
 * "Claimed, then the state changes, then the decision": the change is made after the claim and
 * before the batch decision starts; each order must end as the single path would end it.
 */
describe('paper orders executed in batches (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let manager: TradingManager;
  let decider: PlacementBatchDecider;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
    decider = t.app.get(PlacementBatchDecider);
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  async function trader(): Promise<{ u: TestUser; botId: string; subscriptionId: string; alert: (body?: Record<string, unknown>) => Promise<string> }> {
    const u = await t.register();
    const subscriptionId = await subscribe(t, u, 'pro');
    const created = await t.request('POST', '/api/bots', {
      token: u.access_token,
      body: { name: 'paper bot', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'base', value: '0.001' } },
    });
    expect(created.status).toBe(201);
    const botId = created.body.id as string;
    const hook = await generateWebhook(t, u, botId);
    let n = 0;
    const alert = async (body: Record<string, unknown> = {}) => {
      const r = await sendAlert(t, hook.webhook_secret, { ticker: 'BTCUSDT', action: 'buy', quantity: '0.001', price: '65000', alert_id: `b${++n}-${Date.now()}`, ...body });
      expect(r.status).toBe(202);
      return r.body.order_id as string;
    };
    return { u, botId, subscriptionId, alert };
  }

  /** runOnce with `change` made after the claim and before the batch decision; the batch sizes the decider saw. */
  async function claimedThen(change: () => Promise<HttpResult[]>): Promise<{ answers: HttpResult[]; batches: number[] }> {
    const original = decider.decideBatch.bind(decider);
    const batches: number[] = [];
    let answers: HttpResult[] = [];
    jest.spyOn(decider, 'decideBatch').mockImplementation(async (transitions, items, ...rest) => {
      if (batches.length === 0) answers = await change();
      batches.push(items.length);
      return original(transitions, items, ...rest);
    });
    await manager.runOnce();
    return { answers, batches };
  }

  const row = async (id: string) =>
    ((await ds.query(`SELECT status, reason, sent_at, attempts FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string | null; sent_at: Date | null; attempts: number }>)[0];
  const onPaper = async (userId: string) => Number(((await ds.query(`SELECT count(*)::int AS n FROM paper_orders WHERE user_id = $1`, [userId])) as Array<{ n: number }>)[0].n);

  it('claimed → bot stopped / user deactivated / cancel requested → decision: each canceled with its reason and never sent; the rest of the batch fills', async () => {
    const admin = await t.admin();
    const [stopped, deactivated, canceled, untouched] = [await trader(), await trader(), await trader(), await trader()];
    const ids = [await stopped.alert(), await deactivated.alert(), await canceled.alert(), await untouched.alert()];
    const { answers, batches } = await claimedThen(async () => [
      await t.request('POST', `/api/bots/${stopped.botId}/stop`, { token: stopped.u.access_token }),
      await t.request('PATCH', `/api/admin/users/${deactivated.u.id}`, { token: admin.access_token, body: { is_active: false } }),
      await t.request('POST', `/api/orders/${ids[2]}/cancel`, { token: canceled.u.access_token }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(batches).toEqual([4]); // one decision for the four orders
    expect(await row(ids[0])).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^bot_stopped/), sent_at: null });
    // Deactivation also stops the user's bots: the first failing check of the rule names it.
    expect(await row(ids[1])).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^(user_inactive|bot_stopped: .*user_deactivated)/), sent_at: null });
    expect(await row(ids[2])).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^user_canceled/), sent_at: null });
    expect(await row(ids[3])).toMatchObject({ status: 'filled', reason: null });
    expect(await Promise.all([stopped, deactivated, canceled, untouched].map((x) => onPaper(x.u.id)))).toEqual([0, 0, 0, 1]);
  });

  it('claimed → subscription cancelled now → decision: canceled subscription_inactive (or bot_stopped: the cancel stops the bots), never sent', async () => {
    const x = await trader();
    const id = await x.alert();
    const { answers } = await claimedThen(async () => [await t.request('DELETE', `/api/subscriptions/${x.subscriptionId}`, { token: x.u.access_token })]);
    expect(answers[0].status).toBe(200);
    expect(await row(id)).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^(subscription_inactive|bot_stopped)/), sent_at: null });
    expect(await onPaper(x.u.id)).toBe(0);
  });

  it('claimed → its lease passed and another worker claimed it again → decision: that order is not placed by this batch (lost lease), the rest fill; the other claim then places it once', async () => {
    const [stolen, kept] = [await trader(), await trader()];
    const ids = [await stolen.alert(), await kept.alert()];
    const results: string[] = [];
    const single = jest.spyOn(t.app.get(PlacementDecider), 'decide');
    const { batches } = await claimedThen(async () => {
      // What a second worker's claim does once the first's lease has passed: a new attempt under a new lease.
      await ds.query(`UPDATE orders SET attempts = attempts + 1, next_attempt_at = now() + interval '1 minute' WHERE id = $1`, [ids[0]]);
      return [];
    });
    expect(batches).toEqual([2]);
    // Settled by the batch's own check under the row lock, not by rolling back to the single path.
    expect(single).not.toHaveBeenCalled();
    expect(await row(ids[0])).toMatchObject({ status: 'submitting', attempts: 2, sent_at: null });
    expect(await onPaper(stolen.u.id)).toBe(0);
    expect(await row(ids[1])).toMatchObject({ status: 'filled', attempts: 1 });
    expect(await onPaper(kept.u.id)).toBe(1);
    // The second claim's lease passes too (its worker died): claimed again and placed once.
    await ds.query(`UPDATE orders SET next_attempt_at = now() WHERE id = $1`, [ids[0]]);
    for (const r of await manager.runOnce()) results.push(r.status);
    expect(await row(ids[0])).toMatchObject({ status: 'filled', attempts: 3 });
    expect(await onPaper(stolen.u.id)).toBe(1);
    expect(results).toContain('filled');
  });

  it('one order failing does not hold up the others: below the minimum size and more than the balance are rejected with their reasons, the rest fill', async () => {
    const [tiny, rich, ok] = [await trader(), await trader(), await trader()];
    const ids = [await tiny.alert({ quantity: '0.0000001' }), await rich.alert({ quantity: '10' }), await ok.alert()];
    const { batches } = await claimedThen(async () => []);
    expect(batches).toEqual([3]);
    expect(await row(ids[0])).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/min|size|amount/i) });
    expect(await row(ids[1])).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/insufficient USDT/) });
    expect(await row(ids[2])).toMatchObject({ status: 'filled' });
    const balance = (await ds.query(`SELECT free::text FROM paper_balances WHERE user_id = $1 AND currency = 'USDT'`, [rich.u.id])) as Array<{ free: string }>;
    expect(Number(balance[0].free)).toBe(10000); // nothing moved for the refused order
  });

  it('sells sized from each bot\'s position in one batch decision: a sell above the position sells what the bot holds, a bot holding nothing is canceled no_position', async () => {
    const [held, more, none] = [await trader(), await trader(), await trader()];
    await held.alert({ quantity: '0.002' });
    await more.alert({ quantity: '0.003' });
    await manager.runUntilIdle();
    // Paper takes the buy's fee in base: the bot holds 0.002 less 0.1 %.
    const [pos] = (await ds.query(`SELECT amount::text FROM bot_positions WHERE bot_id = $1`, [held.botId])) as Array<{ amount: string }>;
    expect(Number(pos.amount)).toBeCloseTo(0.001998, 9);
    const ids = [await held.alert({ action: 'sell', quantity: '0.005' }), await more.alert({ action: 'sell', quantity: '0.001' }), await none.alert({ action: 'sell', quantity: '0.001' })];
    const { batches } = await claimedThen(async () => []);
    expect(batches).toEqual([3]); // the three sells, one decision
    const sold = async (id: string) => ((await ds.query(`SELECT status, amount::text, filled::text, reason FROM orders WHERE id = $1`, [id])) as Array<{ status: string; amount: string; filled: string; reason: string | null }>)[0];
    expect(await sold(ids[0])).toMatchObject({ status: 'filled', filled: pos.amount });
    expect(await sold(ids[1])).toMatchObject({ status: 'filled', filled: expect.stringMatching(/^0\.001(0*)$/) });
    expect(await sold(ids[2])).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^no_position/) });
  });

  it('a batch decision that fails as a whole falls back to the single path for each order: all still placed once', async () => {
    const xs = [await trader(), await trader()];
    const ids = [await xs[0].alert(), await xs[1].alert()];
    jest.spyOn(decider, 'decideBatch').mockRejectedValueOnce(new Error('deadlock detected'));
    const results = await manager.runOnce();
    expect(results.map((r) => r.status).sort()).toEqual(['filled', 'filled']);
    for (const id of ids) expect(await row(id)).toMatchObject({ status: 'filled', attempts: 1 });
    expect(await Promise.all(xs.map((x) => onPaper(x.u.id)))).toEqual([1, 1]);
  });

  it('first orders: the accounts are opened and committed before the decision; the fill then fails as a whole inside the decision\'s transaction → all rolled back (nothing decided, nothing on paper) → each order takes the single path in the same round and fills once, against one account with its starting balance', async () => {
    const fills = t.app.get(PaperBatchFills);
    const xs = [await trader(), await trader()];
    const ids = [await xs[0].alert(), await xs[1].alert()];
    const before = Date.now();
    let atFailure: { rows: Array<{ status: string; sent_at: Date | null }>; paper: number[]; balances: unknown[] } | undefined;
    // Seen by another session while the fill runs (the transaction guard refuses a second pooled connection inside it).
    const outside = new Client({ connectionString: t.db.url });
    await outside.connect();
    const fill = jest.spyOn(fills as unknown as { fill: (...args: unknown[]) => Promise<void> }, 'fill').mockImplementationOnce(async () => {
      const q = async <T>(sql: string, params: unknown[]) => (await outside.query(sql, params)).rows as T[];
      atFailure = {
        rows: await q<{ status: string; sent_at: Date | null }>(`SELECT status, sent_at FROM orders WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`, [ids]),
        paper: await Promise.all(xs.map(async (x) => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM paper_orders WHERE user_id = $1`, [x.u.id]))[0].n)),
        balances: await Promise.all(xs.map((x) => q(`SELECT currency, trim_scale(free)::text AS free FROM paper_balances WHERE user_id = $1 ORDER BY currency`, [x.u.id]))),
      };
      throw new Error('Connection terminated unexpectedly');
    });
    const first = await manager.runOnce().finally(() => outside.end());
    expect(fill).toHaveBeenCalledTimes(1);
    // At the failure the accounts were open (committed first) and nothing was decided or on paper.
    expect(atFailure!.rows.map((r) => [r.status, r.sent_at])).toEqual([
      ['submitting', null],
      ['submitting', null],
    ]);
    expect(atFailure!.paper).toEqual([0, 0]);
    for (const b of atFailure!.balances) expect(b).toEqual([{ currency: 'BTC', free: '0' }, { currency: 'USDT', free: '10000' }]);
    // The decision rolled back with the fill: the orders, still claimed and never sent, were placed by the single path.
    expect(first.filter((r) => ids.includes(r.orderId)).map((r) => r.status)).toEqual(['filled', 'filled']);
    for (const id of ids) {
      const r = await row(id);
      expect(r).toMatchObject({ status: 'filled', attempts: 1, reason: null });
      expect(r.sent_at!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    }
    expect(await Promise.all(xs.map((x) => onPaper(x.u.id)))).toEqual([1, 1]);
    for (const x of xs) {
      const accounts = (await ds.query(`SELECT count(*)::int AS n FROM paper_accounts WHERE user_id = $1`, [x.u.id])) as Array<{ n: number }>;
      expect(accounts[0].n).toBe(1);
      const [usdt] = (await ds.query(`SELECT free::numeric AS free FROM paper_balances WHERE user_id = $1 AND currency = 'USDT'`, [x.u.id])) as Array<{ free: string }>;
      expect(Number(usdt.free)).toBeLessThan(10000); // the one buy paid from the starting balance, once
      expect(Number(usdt.free)).toBeGreaterThan(10000 - 2 * 0.001 * 65000 * 1.01);
    }
  });
});

describe('two workers executing paper batches (e2e)', () => {
  let db: TestDatabase;
  let w1: TestWorker;
  let w2: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    w1 = await bootWorker(db, { TRADING_PAPER_BATCH_SIZE: '7' });
    w2 = await bootWorker(db, { TRADING_PAPER_BATCH_SIZE: '7' });
  });
  afterAll(async () => {
    await w1?.close();
    await w2?.close();
    await db?.drop();
  });

  it('never places an order twice, keeps each user FIFO, and runs every order', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => createUser(w1.ds)));
    const orders = [];
    // Three orders per user: a user's second order may only run once the first is done.
    for (let k = 0; k < 3; k += 1) {
      for (const user of users) orders.push(await pendingOrder(w1, { mode: 'paper', exchange: 'paper', user_id: user, amount: '0.001', price: '65000' }));
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [a, b] = await Promise.all([w1.manager.runOnce(), w2.manager.runOnce()]);
      if ((a.length === 0 && b.length === 0) || Date.now() > deadline) break;
    }
    const rows = (await w1.ds.query(`SELECT status, attempts FROM orders WHERE id = ANY($1::uuid[])`, [orders.map((o) => o.id)])) as Array<{ status: string; attempts: number }>;
    expect(rows.every((r) => r.status === 'filled' && r.attempts === 1)).toBe(true);
    const placed = (await w1.ds.query(
      `SELECT p.client_order_id, count(*)::int AS n, min(p.created_at) AS at FROM paper_orders p WHERE p.user_id = ANY($1::uuid[]) GROUP BY p.client_order_id`,
      [users],
    )) as Array<{ client_order_id: string; n: number }>;
    expect(placed).toHaveLength(orders.length);
    expect(placed.every((p) => p.n === 1)).toBe(true);
    // FIFO per user: paper fills happen in the order the user's orders were written.
    const fifo = (await w1.ds.query(
      `SELECT o.user_id, array_agg(o.id ORDER BY p.updated_at) AS by_fill, array_agg(o.id ORDER BY o.created_at, o.id) AS by_write
         FROM orders o JOIN paper_orders p ON p.user_id = o.user_id AND p.client_order_id = o.client_order_id
        WHERE o.user_id = ANY($1::uuid[]) GROUP BY o.user_id`,
      [users],
    )) as Array<{ by_fill: string[]; by_write: string[] }>;
    for (const f of fifo) expect(f.by_fill).toEqual(f.by_write);
    await expect(w1.ctx.get(OrderClaimer).claim(100, 60_000)).resolves.toEqual([]);
  });
});
