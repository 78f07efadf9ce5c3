import { Decimal } from '@torgovo/core';
import { WebhookReceiveService } from '@torgovo/custom-bots';
import { TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { createBot, generateWebhook, sendAlert, subscribe, timenow, TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { runCli } from '../support/cli';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

/**
 * The placement rule (libs/trading placement-rule.ts) at work, through the real API, the real
 * executor, the real ccxt and the fake OKX: "an alert is accepted, then the state changes, then the
 * order's turn comes". Every case here failed on the code before the rule (noted per test).
 */
describe('the placement rule: decided by the executor right before it sends (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let manager: TradingManager;
  const ORDER_PATH = '/api/v5/trade/order';

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, TRADING_BACKOFF_BASE_MS: '60000', TRADING_BACKOFF_MAX_MS: '60000' });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => okx.clearFaults());

  type OrderRow = { id: string; status: string; reason: string | null; side: string | null; amount: string | null; filled: string; quote_amount: string | null };
  const order = async (id: string): Promise<OrderRow> =>
    ((await ds.query(`SELECT id, status, reason, side, amount::text, filled::text, quote_amount::text FROM orders WHERE id = $1`, [id])) as OrderRow[])[0];
  const dueNow = (id: string) => ds.query(`UPDATE orders SET next_attempt_at = now() - interval '1 millisecond' WHERE id = $1`, [id]);
  const ordersOn = (a: FakeAccount) => [...a.orders.values()];
  const dec = (v: string | null) => (v === null ? null : new Decimal(v).toFixed());
  async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function connect(u: TestUser): Promise<FakeAccount> {
    const account = okx.addAccount({ balances: { USDT: '10000' } });
    const res = await t.request('POST', '/api/users/me/exchange', {
      token: u.access_token,
      body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
    });
    expect(res.status).toBe(200);
    return account;
  }

  /** A pro user with a running bot (live: on a fresh fake OKX account) and its webhook. */
  async function trader(mode: 'live' | 'paper', bot: Record<string, unknown> = {}) {
    const u = await t.register();
    const subscriptionId = await subscribe(t, u, 'pro');
    const account = mode === 'live' ? await connect(u) : null;
    const created = await t.request('POST', '/api/bots', {
      token: u.access_token,
      body: { name: `${mode} bot`, symbol: 'BTC/USDT', mode, order_type: 'market', sizing: { type: 'base', value: '0.001' }, ...bot },
    });
    expect(created.status).toBe(201);
    const botId = created.body.id as string;
    const hook = await generateWebhook(t, u, botId);
    let n = 0;
    const alert = async (body: Record<string, unknown>): Promise<string> => {
      const res = await sendAlert(t, hook.webhook_secret, { ticker: 'BTCUSDT', alert_id: `a${++n}-${Date.now()}`, ...body });
      expect(res.status).toBe(202);
      return res.body.order_id as string;
    };
    return { u, account, botId, alert, created, subscriptionId, secret: hook.webhook_secret as string };
  }

  describe('3. state changes between the alert and the send: the order ends canceled with the reason, never placed', () => {
    /** A live alert whose placement OKX answered 503 (not placed): waiting for its retry when the user stops the bot. */
    async function stoppedAfter503() {
      const live = await trader('live');
      const id = await live.alert({ action: 'buy', quantity: '0.001' });
      okx.inject('server_error', { path: ORDER_PATH });
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'pending' });
      expect((await t.request('POST', `/api/bots/${live.botId}/stop`, { token: live.u.access_token })).status).toBe(200);
      return { ...live, id };
    }

    it('waiting for a retry after an OKX 503 → POST /bots/{id}/stop answers → retry time comes → canceled bot_stopped, nothing on OKX', async () => {
      const { account, id } = await stoppedAfter503();
      await dueNow(id);
      await manager.runOnce();
      const row = await order(id);
      // Before the rule: placed and filled after the stop had answered.
      expect(row.status).toBe('canceled');
      expect(row.reason).toMatch(/^bot_stopped: the bot was stopped \(user\)/);
      expect(ordersOn(account!)).toHaveLength(0);
    });

    it('waiting for a retry after an OKX 503 → the user stops the bot, then starts it again → retry time comes → canceled bot_stopped, nothing on OKX; an alert after the start is placed', async () => {
      const { u, account, botId, alert, id } = await stoppedAfter503();
      expect((await t.request('POST', `/api/bots/${botId}/start`, { token: u.access_token })).status).toBe(200);
      const after = await alert({ action: 'buy', quantity: '0.002' });
      await dueNow(id);
      await manager.runUntilIdle();
      const row = await order(id);
      // Before: running again at its turn, so the alert from before the stop was placed after the restart.
      expect(row.status).toBe('canceled');
      expect(row.reason).toMatch(/^bot_stopped: the bot was stopped after this alert and started again/);
      expect(await order(after)).toMatchObject({ status: 'filled', filled: '0.002000000000000000' });
      expect(ordersOn(account!)).toHaveLength(1);
    });

    it('queued behind another order → the bot is deleted → canceled bot_deleted; a row left submitting by a crashed worker is looked up, then canceled', async () => {
      const { u, account, botId, alert } = await trader('live');
      const first = await alert({ action: 'buy', quantity: '0.001' });
      const second = await alert({ action: 'buy', quantity: '0.002' });
      // A worker claimed and fenced the first one, then crashed before sending (sent_at set, lease running out).
      await ds.query(
        `UPDATE orders SET status = 'submitting', attempts = 1, sent_at = now(), next_attempt_at = now() - interval '1 millisecond',
                credential_id = (SELECT id FROM exchange_credentials WHERE user_id = $2 AND retired_at IS NULL) WHERE id = $1`,
        [first, u.id],
      );
      expect((await t.request('DELETE', `/api/bots/${botId}`, { token: u.access_token })).status).toBe(204);
      const lookupsBefore = okx.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH).length;
      await manager.runUntilIdle();
      expect(await order(first)).toMatchObject({ status: 'canceled' });
      expect((await order(first)).reason).toMatch(/^bot_deleted: /);
      expect((await order(second)).reason).toMatch(/^bot_deleted: /);
      // The crashed row was looked up first (it may have been on the exchange), then canceled; nothing placed.
      expect(okx.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH).length).toBe(lookupsBefore + 1);
      expect(ordersOn(account!)).toHaveLength(0);
    });

    it('cancel the subscription now, or deactivate the user, while orders are queued → canceled with that reason', async () => {
      const a = await trader('paper');
      const queued = await a.alert({ action: 'buy', quantity: '0.001', price: '60000' });
      expect((await t.request('DELETE', `/api/subscriptions/${a.subscriptionId}`, { token: a.u.access_token })).status).toBe(200);
      await manager.runUntilIdle();
      const cancelled = await order(queued);
      expect(cancelled.status).toBe('canceled');
      expect(cancelled.reason).toMatch(/^(bot_stopped|subscription_inactive): /);

      const b = await trader('paper');
      const queuedB = await b.alert({ action: 'buy', quantity: '0.001', price: '60000' });
      const off = await runCli(t, ['deactivate-user', '--email', b.u.email]);
      expect(off.stdout).toContain('is deactivated');
      // Before the rule the deactivation itself rejected the row; now the executor decides.
      expect(await order(queuedB)).toMatchObject({ status: 'pending' });
      await manager.runUntilIdle();
      expect(await order(queuedB)).toMatchObject({ status: 'canceled' });
      expect((await order(queuedB)).reason).toMatch(/^(bot_stopped|user_inactive): /);
    });
  });

  describe('1. an order that may be on the exchange is looked up, never rejected blind', () => {
    it('answer lost → the user disconnects the exchange → the order is looked up with its keys and recorded filled', async () => {
      const { u, account, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.dropNextOrderResponse();
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'pending' });
      expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
      // Before the rule: `rejected exchange_disconnected` right here, while it was filled on OKX.
      expect(await order(id)).toMatchObject({ status: 'pending' });
      await dueNow(id);
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'filled', filled: '0.001000000000000000' });
      expect(ordersOn(account!)).toHaveLength(1);
      // The retired keys were kept for that look-up only; with nothing unresolved they are purged.
      await manager.syncOpenOrders();
      const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM exchange_credentials WHERE user_id = $1`, [u.id])) as Array<{ n: number }>;
      expect(n).toBe(0);
    });
  });

  describe('1b. a send whose outcome is unknown may still land: nothing is concluded before its bound', () => {
    const settlesAt = async (id: string): Promise<Date | null> =>
      ((await ds.query(`SELECT send_settles_at FROM orders WHERE id = $1`, [id])) as Array<{ send_settles_at: Date | null }>)[0].send_settles_at;
    /** What the passing of the send's bound (its decision + SEND_SETTLE_MAX_MS) looks like to the database. */
    const boundPasses = (id: string) => ds.query(`UPDATE orders SET send_settles_at = now() - interval '1 millisecond' WHERE id = $1`, [id]);

    it('OKX answers 50004 (outcome unknown) → the user stops the bot → a look-up finds nothing yet → the order lands: the stop waited for it, the order is recorded filled, never canceled or sent twice', async () => {
      const { u, account, botId, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.landNextOrderLate(1_500);
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'pending' });
      const bound = await settlesAt(id);
      expect(bound!.getTime()).toBeGreaterThan(Date.now() + 10_000);

      let stopAnswered = false;
      const stopping = t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token }).then((r) => {
        stopAnswered = true;
        return r;
      });
      await waitUntil(async () => ((await ds.query(`SELECT status FROM bots WHERE id = $1`, [botId])) as Array<{ status: string }>)[0].status === 'stopped');
      // A look-up now (as a user's cancel asks for one): the order has not reached OKX yet.
      await dueNow(id);
      await manager.runOnce();
      // Before the bound a look-up that finds nothing proves nothing. Before this, the order ended
      // here `canceled bot_stopped` ("never sent") and landed on OKX a second later, untracked.
      const waiting = await order(id);
      expect(waiting.status).toBe('pending');
      expect(waiting.reason).toMatch(/^placement outcome unknown: /);
      await waitUntil(async () => ordersOn(account!).length === 1);
      // The stop is still waiting: a send decided before it may reach the exchange until the bound.
      expect(stopAnswered).toBe(false);
      await boundPasses(id);
      expect((await stopping).status).toBe(200);
      await dueNow(id);
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'filled', filled: '0.001000000000000000' });
      expect(ordersOn(account!)).toHaveLength(1);
    });

    it('outcome unknown → the bot keeps running → the retry finds nothing yet: not sent again, looked up at the bound, then found: placed once', async () => {
      const { account, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.landNextOrderLate(1_500);
      await manager.runOnce();
      await dueNow(id);
      await manager.runOnce();
      // Before: "not found" meant "not there", so the order was sent again (the bot still runs) and
      // the first placement landed beside it: two orders on OKX for one alert.
      const [row] = (await ds.query(`SELECT status, reason, next_attempt_at AS due, send_settles_at AS bound FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string; due: Date; bound: Date }>;
      expect(row.status).toBe('pending');
      expect(row.reason).toMatch(/^placement outcome unknown: /);
      expect(row.due.getTime()).toBeGreaterThanOrEqual(row.bound.getTime());
      const [{ client_order_id }] = (await ds.query(`SELECT client_order_id FROM orders WHERE id = $1`, [id])) as Array<{ client_order_id: string }>;
      const posts = () => okx.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(client_order_id)).length;
      expect(posts()).toBe(1);
      await waitUntil(async () => ordersOn(account!).length === 1);
      await boundPasses(id);
      await dueNow(id);
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'filled' });
      expect(ordersOn(account!)).toHaveLength(1);
      expect(posts()).toBe(1);
    });

    it('OKX refuses before its matching engine (429 rate limit): no send is pending, so a stop answers at once and the retry is canceled', async () => {
      const { u, account, botId, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.inject('rate_limit', { path: ORDER_PATH });
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'pending' });
      expect(await settlesAt(id)).toBeNull();
      const started = Date.now();
      expect((await t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token })).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      await dueNow(id);
      await manager.runOnce();
      expect(await order(id)).toMatchObject({ status: 'canceled' });
      expect(ordersOn(account!)).toHaveLength(0);
    });
  });

  describe('2. an order belongs to the credential it was first sent with', () => {
    it('answer lost on account A → the user connects account B → retry → nothing on B; the order is found and recorded on A', async () => {
      const { u, account: a, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.dropNextOrderResponse();
      await manager.runOnce();
      const b = await connect(u); // replaces the keys
      await dueNow(id);
      await manager.runOnce();
      // Before the rule: looked up on B, not found, placed again on B.
      expect(await order(id)).toMatchObject({ status: 'filled' });
      expect(ordersOn(a!)).toHaveLength(1);
      expect(ordersOn(b)).toHaveLength(0);
    });

    it('a 503 on account A (not placed) → the user connects B → retry → canceled credential_changed, nothing on either', async () => {
      const { u, account: a, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      okx.inject('server_error', { path: ORDER_PATH });
      await manager.runOnce();
      const b = await connect(u);
      await dueNow(id);
      await manager.runOnce();
      const row = await order(id);
      expect(row.status).toBe('canceled');
      expect(row.reason).toMatch(/^credential_changed: /);
      expect([ordersOn(a!).length, ordersOn(b).length]).toEqual([0, 0]);
    });
  });

  describe('4-6. sized at execution, in order per bot, from the bot’s own position and the balance', () => {
    it('4. buy → close one second later: the close is accepted (not 422 no_position) and sells exactly what the buy bought', async () => {
      const { alert, botId } = await trader('paper');
      const buy = await alert({ action: 'buy', quantity: '0.01', price: '60000' });
      const close = await alert({ action: 'close', price: '61000' });
      await manager.runUntilIdle();
      const [b, c] = [await order(buy), await order(close)];
      expect(b.status).toBe('filled');
      // Bought 0.01 less the paper fee paid in BTC: the close sells all of it.
      const held = new Decimal(b.filled).minus('0.00001');
      expect({ status: c.status, side: c.side, filled: dec(c.filled) }).toEqual({ status: 'filled', side: 'sell', filled: held.toFixed() });
      const [pos] = (await ds.query(`SELECT amount::text FROM bot_positions WHERE bot_id = $1`, [botId])) as Array<{ amount: string }>;
      expect(dec(pos.amount)).toBe('0');
      // A close with nothing left is canceled no_position by the executor, not refused at receive.
      const again = await alert({ action: 'close', price: '61000' });
      await manager.runUntilIdle();
      expect((await order(again)).reason).toMatch(/^no_position: /);
    });

    it('4b. a close waits while an earlier market order of the bot was sent but not read back yet (its fill is not in the position yet)', async () => {
      const { alert } = await trader('paper');
      const buy = await alert({ action: 'buy', quantity: '0.01', price: '60000' });
      await manager.runUntilIdle();
      // As when the exchange's answer came back without the fill: open until the sync reads it.
      await ds.query(`UPDATE orders SET status = 'open' WHERE id = $1`, [buy]);
      const close = await alert({ action: 'close', price: '61000' });
      await manager.runOnce();
      expect(await order(close)).toMatchObject({ status: 'pending' });
      expect((await order(close)).reason).toMatch(/position_unsettled/);
      await ds.query(`UPDATE orders SET status = 'filled' WHERE id = $1`, [buy]);
      await dueNow(close);
      await manager.runUntilIdle();
      expect(await order(close)).toMatchObject({ status: 'filled', filled: '0.009990000000000000' });
    });

    it('5. a fixed-size sell sells at most the bot’s own position; a bot that opts out sells what it is told', async () => {
      const own = await trader('paper');
      await own.alert({ action: 'buy', quantity: '0.01', price: '60000' });
      const sell = await own.alert({ action: 'sell', quantity: '1', price: '60000' });
      await manager.runUntilIdle();
      // Before: 1 BTC asked of the paper account (the user's own coins, or insufficient funds).
      expect(await order(sell)).toMatchObject({ status: 'filled', filled: '0.009990000000000000' });

      const beyond = await trader('paper', { allow_selling_beyond_position: true });
      expect(beyond.created.body).toMatchObject({ allow_selling_beyond_position: true });
      await beyond.alert({ action: 'buy', quantity: '0.01', price: '60000' });
      const big = await beyond.alert({ action: 'sell', quantity: '0.02', price: '60000' });
      await manager.runUntilIdle();
      // Sent as asked: the paper account holds less BTC than that, so the exchange refuses it.
      expect(await order(big)).toMatchObject({ status: 'rejected' });
      expect((await order(big)).reason).toMatch(/insufficient BTC balance/);
    });

    it('6. five quick 50 % buys on 10,000 USDT spend 5000, 2500, 1250, 625, 312.5 — sized one after another', async () => {
      const { alert, u } = await trader('paper');
      // Sent at once, as TradingView does when several alerts fire on one bar.
      const ids = await Promise.all(Array.from({ length: 5 }, () => alert({ action: 'buy', quantity: '50%', price: '50000' })));
      await manager.runUntilIdle();
      const spent = await Promise.all(ids.map(async (id) => new Decimal((await order(id)).quote_amount!)));
      // Before: each alert sized itself from the balance it saw, so concurrent ones overlapped (5000, 2500, 2500, …).
      expect(spent.sort((a, b) => b.comparedTo(a)).map((d) => d.toFixed())).toEqual(['5000', '2500', '1250', '625', '312.5']);
      const [{ free }] = (await ds.query(`SELECT free::text FROM paper_balances WHERE user_id = $1 AND currency = 'USDT'`, [u.id])) as Array<{ free: string }>;
      expect(dec(free)).toBe('312.5');
    });
  });

  it('12. a buy then a close of one bot written by the same accept statement (a bar close): the close runs after the buy, every time', async () => {
    // Twelve bots, each sent "buy" then "close" back to back: the intake writes the alerts that arrive
    // together in one statement, where every order has the same created_at (its start). The queue's
    // tie-break was the random uuid: each close ran first about half the time (canceled no_position)
    // and its buy after it, leaving the bot long.
    const bots = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const { botId, secret } = await trader('paper');
        return { botId, secret };
      }),
    );
    const receiver = t.app.get(WebhookReceiveService);
    const body = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ ticker: 'BTCUSDT', price: '60000', ...o }));
    // Warm each webhook's cached lookup (a first alert), so the pairs below reach the intake together.
    await Promise.all(bots.map((b, i) => receiver.receive({ secret: b.secret, body: body({ action: 'buy', quantity: '0.001', alert_id: `warm-${i}` }), ip: '127.0.0.1' })));
    await manager.runUntilIdle();
    const pairs = bots.flatMap((b, i) => [
      receiver.receive({ secret: b.secret, body: body({ action: 'buy', quantity: '0.002', alert_id: `buy-${i}` }), ip: '127.0.0.1' }),
      receiver.receive({ secret: b.secret, body: body({ action: 'close', alert_id: `close-${i}` }), ip: '127.0.0.1' }),
    ]);
    const ids = (await Promise.all(pairs)).map((r) => r.order_id);
    const rows = (await ds.query(`SELECT id, created_at FROM orders WHERE id = ANY($1::uuid[])`, [ids])) as Array<{ id: string; created_at: Date }>;
    const createdAt = new Map(rows.map((r) => [r.id, r.created_at.getTime()]));
    // The case at stake: some pairs were written by one statement.
    expect(bots.filter((_, i) => createdAt.get(ids[2 * i]) === createdAt.get(ids[2 * i + 1])).length).toBeGreaterThan(0);
    await manager.runUntilIdle();
    for (const [i, b] of bots.entries()) {
      const [buy, close] = [await order(ids[2 * i]), await order(ids[2 * i + 1])];
      expect([i, buy.status, close.status, close.reason]).toEqual([i, 'filled', 'filled', null]);
      const [{ amount }] = (await ds.query(`SELECT coalesce((SELECT amount FROM bot_positions WHERE bot_id = $1), 0)::text AS amount`, [b.botId])) as Array<{ amount: string }>;
      expect(new Decimal(amount).isZero()).toBe(true);
    }
  });

  it('8. one live order waiting to retry does not hold up the same user’s paper orders', async () => {
    const live = await trader('live');
    const stuck = await live.alert({ action: 'buy', quantity: '0.001' });
    okx.inject('server_error', { path: ORDER_PATH });
    await manager.runOnce();
    expect(await order(stuck)).toMatchObject({ status: 'pending' }); // backoff: a minute
    const paperBot = await createBot(t, live.u, { name: 'paper', mode: 'paper', sizing: { type: 'base', value: '0.001' } });
    const hook = await generateWebhook(t, live.u, paperBot.body.id as string);
    const res = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000' });
    await manager.runUntilIdle();
    // Before: claims were FIFO per user, so the paper order waited behind the live one.
    expect(await order(res.body.order_id as string)).toMatchObject({ status: 'filled' });
    expect(await order(stuck)).toMatchObject({ status: 'pending' });
  });

  it('11. target-position alerts: the bot trades to the strategy’s position; a reversal is one alert; older alerts change nothing', async () => {
    const { alert, botId } = await trader('paper');
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => timenow(ms - Date.now());
    const long = await alert({ position: '0.02', price: '60000', timestamp: at(t0) });
    await manager.runUntilIdle();
    expect(await order(long)).toMatchObject({ status: 'filled', side: 'buy', amount: '0.020000000000000000' });
    // Reversal to short: spot goes flat — sells everything the bot holds (0.02 less the fee in BTC).
    const flat = await alert({ position: '-0.02', price: '61000', timestamp: at(t0 + 2000) });
    // Arrives late: older than the one just applied.
    const late = await alert({ position: '0.01', price: '60500', timestamp: at(t0 + 1000) });
    const same = await alert({ position: '0', price: '61000', timestamp: at(t0 + 3000) });
    await manager.runUntilIdle();
    expect(await order(flat)).toMatchObject({ status: 'filled', side: 'sell', amount: '0.019980000000000000' });
    expect(await order(late)).toMatchObject({ status: 'canceled' });
    expect((await order(late)).reason).toMatch(/^superseded: /);
    expect((await order(same)).reason).toMatch(/^at_target: /);
    const [pos] = (await ds.query(`SELECT amount::text FROM bot_positions WHERE bot_id = $1`, [botId])) as Array<{ amount: string }>;
    expect(dec(pos.amount)).toBe('0');
  });

  it('13. a target reached by a resting limit buy: a second alert for it buys nothing more (it compounded before)', async () => {
    const { alert, account } = await trader('live', { order_type: 'limit' });
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => timenow(ms - Date.now());
    // Below the market (73,384.8): the buy rests on OKX, open.
    const first = await alert({ position: '0.002', price: '50000', timestamp: at(t0) });
    await manager.runUntilIdle();
    expect(await order(first)).toMatchObject({ status: 'open', side: 'buy' });
    // The next bar repeats the strategy's position: it is on its way already.
    const again = await alert({ position: '0.002', price: '50000', timestamp: at(t0 + 60_000) });
    await manager.runUntilIdle();
    expect(await order(again)).toMatchObject({ status: 'canceled' });
    expect((await order(again)).reason).toMatch(/^at_target: .*open buys may still buy 0\.002/);
    expect(ordersOn(account!)).toHaveLength(1);
  });

  it('generate offers the target-position template beside the action template', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u, {});
    const res = await t.request<Record<string, Record<string, string>>>('POST', '/api/custom-bot/webhook/generate', { token: u.access_token, body: { bot_id: bot.body.id } });
    expect(res.body.tradingview_position_json).toMatchObject({ position: '{{strategy.position_size}}', ticker: '{{ticker}}', price: '{{close}}' });
    expect(res.body.tradingview_json).toMatchObject({ action: '{{strategy.order.action}}' });
  });
});
