import { Decimal } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes, OpenOrdersSync, OrderCancels, OrderClaimer, OrderExecutor, OrderResponse, TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { generateWebhook, sendAlert, subscribe, TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

/**
 * Manual control through the order path (issue 14): POST /orders/{id}/cancel, POST /bots/{id}/close,
 * and the order timeline — through the real API, the real executor and placement rule, the real ccxt
 * and the fake OKX. Interleavings are written "A happens, then B changes, then A's effect".
 */
describe('manual control: cancel an order, close a position (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let manager: TradingManager;
  let cancels: OrderCancels;
  const ORDER_PATH = '/api/v5/trade/order';
  const CANCEL_PATH = '/api/v5/trade/cancel-order';

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, TRADING_BACKOFF_BASE_MS: '60000', TRADING_BACKOFF_MAX_MS: '60000' });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
    cancels = t.app.get(OrderCancels);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => okx.clearFaults());

  type Row = { status: string; reason: string | null; filled: string; amount: string | null; sent_at: Date | null; cancel_requested_at: Date | null };
  const row = async (id: string): Promise<Row> =>
    ((await ds.query(`SELECT status, reason, filled::text, amount::text, sent_at, cancel_requested_at FROM orders WHERE id = $1`, [id])) as Row[])[0];
  const position = async (botId: string): Promise<string> =>
    new Decimal(((await ds.query(`SELECT coalesce((SELECT amount FROM bot_positions WHERE bot_id = $1), 0)::text AS a`, [botId])) as Array<{ a: string }>)[0].a).toFixed();
  const onOkx = (a: FakeAccount) => [...a.orders.values()];
  const okxCalls = (path: string) => okx.requests.filter((r) => r.method === 'POST' && r.path === path).length;
  const cancelOrder = (u: TestUser, id: string) => t.request<OrderResponse & { code?: string }>('POST', `/api/orders/${id}/cancel`, { token: u.access_token });
  const closeBot = (u: TestUser, botId: string) => t.request<{ order_id: string; code?: string }>('POST', `/api/bots/${botId}/close`, { token: u.access_token });

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
    await subscribe(t, u, 'pro');
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
    return { u, account, botId, alert };
  }

  describe('POST /orders/{id}/cancel', () => {
    it('a pending order ends canceled user_canceled at once; the executor then has nothing to claim; asking again is 409 order_final', async () => {
      const { u, account, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      const res = await cancelOrder(u, id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, status: 'canceled', reason: 'user_canceled: canceled by the user before it was sent' });
      expect(res.body.cancel_requested_at).not.toBeNull();
      expect(res.body.closed_at).not.toBeNull();
      expect(res.body.timeline).toMatchObject({ claimed_at: null, sent_at: null, acknowledged_at: null, filled_at: null });
      expect(await manager.runUntilIdle()).toEqual([]);
      expect(onOkx(account!)).toHaveLength(0);
      const again = await cancelOrder(u, id);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('order_final');
    });

    it('the executor claims, then the cancel is requested, then the placement decision: canceled user_canceled, never sent', async () => {
      const { u, account, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      const [claimed] = await t.app.get(OrderClaimer).claim(1, 60_000);
      expect(claimed.id).toBe(id);
      const res = await cancelOrder(u, id);
      // Claimed: it may be about to be sent, so the cancel is recorded, not applied blind.
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'submitting' });
      expect(res.body.cancel_requested_at).not.toBeNull();
      const result = await t.app.get(OrderExecutor).execute(claimed);
      expect(result).toMatchObject({ status: 'canceled', reason: 'user_canceled: canceled by the user before it was sent' });
      expect(await row(id)).toMatchObject({ status: 'canceled', sent_at: null });
      expect(onOkx(account!)).toHaveLength(0);
      expect(okx.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(claimed.client_order_id))).toHaveLength(0);
    });

    it('the decision holds the order row, then the cancel is requested (waits), then the decision commits as sent: the cancel sees it sent, never both', async () => {
      const { u, alert } = await trader('live');
      const id = await alert({ action: 'buy', quantity: '0.001' });
      // Stand-in for the placement decision's transaction: the order row locked, then fenced as sent.
      const qr = ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      try {
        await qr.query(`SELECT cancel_requested_at FROM orders WHERE id = $1 FOR UPDATE`, [id]);
        const pendingCancel = cancelOrder(u, id);
        await new Promise((r) => setTimeout(r, 300));
        await qr.query(`UPDATE orders SET status = 'submitting', attempts = 1, sent_at = now() WHERE id = $1`, [id]);
        await qr.commitTransaction();
        const res = await pendingCancel;
        expect(res.status).toBe(200);
        // Not canceled locally: it may be on the exchange; the executor's record and the cancel job decide.
        expect(res.body.status).toBe('submitting');
        expect(res.body.cancel_requested_at).not.toBeNull();
      } finally {
        await qr.release();
      }
      // That stand-in "worker" died before sending: once its lease passes, the order is looked up
      // (not on OKX), then the rule sees the cancel.
      await ds.query(`UPDATE orders SET next_attempt_at = now() - interval '1 millisecond' WHERE id = $1`, [id]);
      await manager.runUntilIdle();
      expect(await row(id)).toMatchObject({ status: 'canceled', reason: 'user_canceled: canceled by the user before it was sent' });
    });

    it('a placement whose outcome is unknown waits to retry, then the cancel: it is looked up at once and canceled (not found) or recorded (found)', async () => {
      const { u, account, alert } = await trader('live');
      const lost = await alert({ action: 'buy', quantity: '0.001' });
      okx.inject('server_error', { path: ORDER_PATH });
      await manager.runOnce();
      expect(await row(lost)).toMatchObject({ status: 'pending' });
      expect((await row(lost)).sent_at).not.toBeNull();
      // Backoff is 60 s here: the cancel makes it due now, and it is looked up before anything else.
      expect((await cancelOrder(u, lost)).body).toMatchObject({ status: 'pending' });
      await manager.runUntilIdle();
      expect(await row(lost)).toMatchObject({ status: 'canceled', reason: 'user_canceled: canceled by the user before it was sent' });

      const placed = await alert({ action: 'buy', quantity: '0.001' });
      okx.dropNextOrderResponse();
      await manager.runOnce();
      expect(await row(placed)).toMatchObject({ status: 'pending' });
      await cancelOrder(u, placed);
      await manager.runUntilIdle();
      // It was on OKX and filled: the exchange decides, never "canceled" over a fill.
      expect(await row(placed)).toMatchObject({ status: 'filled' });
      expect(onOkx(account!)).toHaveLength(1);
    });

    it('a resting limit order whose answer was lost, then the cancel, then OKX refuses the look-ups: the attempts back off (not spent at once, never failed while it rests on OKX); then the look-up finds it and the cancel job cancels it there', async () => {
      const { u, account, alert } = await trader('live', { order_type: 'limit' });
      const id = await alert({ action: 'buy', quantity: '0.001', price: '50000' });
      okx.dropNextOrderResponse();
      await manager.runOnce();
      expect(await row(id)).toMatchObject({ status: 'pending' });
      expect(onOkx(account!)).toHaveLength(1);
      okx.inject('server_error', { path: ORDER_PATH, method: 'GET', times: Infinity });
      try {
        await cancelOrder(u, id);
        // The cancel makes it due once; that look-up is refused; the next one waits its backoff.
        await manager.runUntilIdle(3_000);
        const [waiting] = (await ds.query(`SELECT status, attempts FROM orders WHERE id = $1`, [id])) as Array<{ status: string; attempts: number }>;
        expect(waiting.status).toBe('pending');
        expect(waiting.attempts).toBeLessThanOrEqual(3);
      } finally {
        okx.clearFaults();
      }
      await ds.query(`UPDATE orders SET next_attempt_at = now() WHERE id = $1`, [id]);
      await manager.runUntilIdle();
      expect(await row(id)).toMatchObject({ status: 'open' });
      expect(await cancels.tick()).toMatchObject({ checked: 1, settled: 1 });
      expect(onOkx(account!)[0].state).toBe('canceled');
      expect(await row(id)).toMatchObject({ status: 'canceled' });
    });

    it('a resting live limit order is canceled on OKX with its own keys; a second request is harmless', async () => {
      const { u, account, alert } = await trader('live', { order_type: 'limit' });
      const id = await alert({ action: 'buy', quantity: '0.001', price: '50000' });
      await manager.runUntilIdle();
      expect(await row(id)).toMatchObject({ status: 'open' });
      const res = await cancelOrder(u, id);
      expect(res.body).toMatchObject({ status: 'open' });
      expect((await cancelOrder(u, id)).status).toBe(200);
      const before = okxCalls(CANCEL_PATH);
      expect(await cancels.tick()).toMatchObject({ checked: 1, settled: 1, errors: 0 });
      expect(okxCalls(CANCEL_PATH)).toBe(before + 1);
      const cancelCall = okx.requests.filter((r) => r.method === 'POST' && r.path === CANCEL_PATH).pop()!;
      expect(cancelCall.headers['ok-access-key']).toBe(account!.apiKey);
      expect(onOkx(account!)[0].state).toBe('canceled');
      const after = await t.request<OrderResponse>('GET', `/api/orders/${id}`, { token: u.access_token });
      expect(after.body).toMatchObject({ status: 'canceled', reason: "user_canceled: canceled on the exchange at the user's request" });
      expect(after.body.timeline.sent_at).not.toBeNull();
      expect(after.body.timeline.acknowledged_at).not.toBeNull();
      expect(after.body.timeline.filled_at).toBeNull();
      expect(await cancels.tick()).toMatchObject({ checked: 0 });
      expect((await cancelOrder(u, id)).status).toBe(409);
    });

    it('cancel requested, then the open-orders sync looks the order up, then the cancel job: canceled on that pass; one that did not settle is tried again after the retry delay, whatever the sync does', async () => {
      const { u, account, alert } = await trader('live', { order_type: 'limit' });
      const id = await alert({ action: 'buy', quantity: '0.001', price: '50000' });
      await manager.runUntilIdle();
      const sync = t.app.get(OpenOrdersSync);
      // OKX cannot take the first cancel: it is retried after TRADING_CANCEL_RETRY_MS (5 s), not on the next poll.
      expect((await cancelOrder(u, id)).body).toMatchObject({ status: 'open' });
      okx.inject('server_error', { path: CANCEL_PATH });
      expect(await cancels.tick()).toMatchObject({ checked: 1, settled: 0, errors: 1 });
      expect(await cancels.tick()).toMatchObject({ checked: 0 });
      await ds.query(`UPDATE orders SET cancel_retry_at = now() - interval '1 second' WHERE id = $1`, [id]);
      // The sync looks it up (still open) just before the retry is due.
      expect(await sync.tick()).toMatchObject({ errors: 0 });
      // Before: the job gated on updated_at, which that look-up had just touched: nothing was tried for another 5 s
      // (and never, with the sync looking every order up within 5 s).
      expect(await cancels.tick()).toMatchObject({ checked: 1, settled: 1 });
      expect(onOkx(account!)[0].state).toBe('canceled');

      // The same for a first try: the sync's look-up between the request and the job's first pass does not delay it.
      const second = await alert({ action: 'buy', quantity: '0.001', price: '49000' });
      await manager.runUntilIdle();
      expect((await cancelOrder(u, second)).body).toMatchObject({ status: 'open' });
      await sync.tick();
      expect(await cancels.tick()).toMatchObject({ checked: 1, settled: 1 });
      expect(await row(second)).toMatchObject({ status: 'canceled' });
    });

    it('cancel requested, then the limit fills on OKX, then the cancel job: the order stays filled and the bot holds the fill', async () => {
      const { u, account, botId, alert } = await trader('live', { order_type: 'limit' });
      const id = await alert({ action: 'buy', quantity: '0.002', price: '50000' });
      await manager.runUntilIdle();
      expect((await cancelOrder(u, id)).body).toMatchObject({ status: 'open' });
      const [resting] = onOkx(account!);
      Object.assign(resting, { state: 'filled', accFillSz: '0.002', avgPx: '50000', fee: '-0.000002', frozenAmt: '0' });
      expect(await cancels.tick()).toMatchObject({ settled: 1 });
      const r = await row(id);
      expect(r.status).toBe('filled');
      expect(r.reason).toBeNull();
      expect(new Decimal(r.filled).toFixed()).toBe('0.002');
      expect(await position(botId)).toBe('0.001998');
    });

    it('a partial fill that raced the cancel stays on the order (canceled with its fill) and in the position', async () => {
      const { u, account, botId, alert } = await trader('live', { order_type: 'limit' });
      const id = await alert({ action: 'buy', quantity: '0.004', price: '50000' });
      await manager.runUntilIdle();
      await cancelOrder(u, id);
      const [resting] = onOkx(account!);
      Object.assign(resting, { accFillSz: '0.001', avgPx: '50000', fee: '-0.000001' });
      await cancels.tick();
      const r = await row(id);
      expect(r.status).toBe('canceled');
      expect(new Decimal(r.filled).toFixed()).toBe('0.001');
      expect(await position(botId)).toBe('0.000999');
    });

    it('a paper limit order is canceled on the paper exchange and its reserved funds come back', async () => {
      const { u, alert } = await trader('paper', { order_type: 'limit' });
      const first = await alert({ action: 'buy', quantity: '0.001', price: '60000', order_type: 'market' });
      await manager.runUntilIdle();
      // A limit below the last fill rests.
      const id = await alert({ action: 'buy', quantity: '0.01', price: '50000' });
      await manager.runUntilIdle();
      expect((await row(first)).status).toBe('filled');
      expect((await row(id)).status).toBe('open');
      await cancelOrder(u, id);
      await cancels.tick();
      expect(await row(id)).toMatchObject({ status: 'canceled' });
      const [usdt] = (await ds.query(`SELECT used::text FROM paper_balances WHERE user_id = $1 AND currency = 'USDT'`, [u.id])) as Array<{ used: string }>;
      expect(new Decimal(usdt.used).toFixed()).toBe('0');
    });

    it('another user gets 404 and changes nothing; a malformed id is 400', async () => {
      const { alert } = await trader('paper');
      const id = await alert({ action: 'buy', quantity: '0.001', price: '60000' });
      const mallory = await t.register();
      const res = await cancelOrder(mallory, id);
      expect(res.status).toBe(404);
      expect(await row(id)).toMatchObject({ status: 'pending', cancel_requested_at: null });
      expect((await cancelOrder(mallory, 'not-a-uuid')).status).toBe(400);
      expect((await t.request('POST', `/api/orders/${id}/cancel`)).status).toBe(401);
    });
  });

  describe('POST /bots/{id}/close', () => {
    it('no position is 422 no_position and writes no order', async () => {
      const { u, botId } = await trader('paper');
      const res = await closeBot(u, botId);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('no_position');
      expect(((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE bot_id = $1`, [botId])) as Array<{ n: number }>)[0].n).toBe(0);
    });

    it('sells the whole position; repeated clicks while it waits return the same order; a click after it ran finds no position', async () => {
      const { u, botId, alert } = await trader('paper');
      await alert({ action: 'buy', quantity: '0.003', price: '60000' });
      await manager.runUntilIdle();
      const held = await position(botId);
      expect(held).toBe('0.002997');
      const clicks = await Promise.all([closeBot(u, botId), closeBot(u, botId), closeBot(u, botId)]);
      expect(clicks.map((c) => c.status)).toEqual([202, 202, 202]);
      expect(new Set(clicks.map((c) => c.body.order_id)).size).toBe(1);
      await manager.runUntilIdle();
      const closed = await row(clicks[0].body.order_id);
      expect(closed.status).toBe('filled');
      expect(new Decimal(closed.filled).toFixed()).toBe(held);
      expect(await position(botId)).toBe('0');
      expect((await closeBot(u, botId)).status).toBe(422);
    });

    it('a deactivation holding the user row, then a close, then the deactivation stops the bots: no deadlock; the close is refused 401', async () => {
      const { u, botId, alert } = await trader('paper');
      await alert({ action: 'buy', quantity: '0.003', price: '60000' });
      await manager.runUntilIdle();
      // The deactivation's order (UserAccessService, then the bots listener): the user row, then the running bots.
      const qr = ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      try {
        await qr.query(`SELECT id FROM users WHERE id = $1 FOR UPDATE`, [u.id]);
        const close = closeBot(u, botId);
        await new Promise((r) => setTimeout(r, 500));
        await qr.query(`UPDATE bots SET status = 'stopped' WHERE user_id = $1 AND status = 'running'`, [u.id]);
        await qr.query(`UPDATE users SET is_active = false WHERE id = $1`, [u.id]);
        await qr.commitTransaction();
        const res = await close;
        expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        await qr.release();
      }
      expect(((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE bot_id = $1 AND source = 'manual'`, [botId])) as Array<{ n: number }>)[0].n).toBe(0);
    });

    it('a close claimed, then a second click queues another, then the first must wait (a transient refusal): the first ends superseded, the second sells the position; the queue is not held', async () => {
      const { u, botId, alert } = await trader('paper');
      await alert({ action: 'buy', quantity: '0.003', price: '60000' });
      await manager.runUntilIdle();
      const first = (await closeBot(u, botId)).body.order_id;
      // A worker claims the first close (pending → submitting, attempt 1) and is deciding it.
      await ds.query(`UPDATE orders SET status = 'submitting', attempts = 1, next_attempt_at = now() + interval '60 seconds' WHERE id = $1`, [first]);
      const second = (await closeBot(u, botId)).body.order_id;
      expect(second).not.toBe(first);
      // Its decision then says "not now" (position_unsettled: an earlier market order not read back yet): back to pending.
      // Before: the unique index of waiting closes refused that, and the first close stayed submitting under its 60 s lease.
      const executor = t.app.get(OrderExecutor);
      const claimed = (await ds.query(`SELECT * FROM orders WHERE id = $1`, [first])) as Parameters<OrderExecutor['fail']>[0][];
      const result = await executor.fail(claimed[0], { id: first, attempts: 1 }, ExchangeError.transient(ExchangeErrorCodes.unavailable, 'position_unsettled: an earlier market order of this bot is not read back yet; sized once it is'), true, false);
      expect(result).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^superseded: a newer close/) });
      expect(await row(first)).toMatchObject({ status: 'canceled' });
      await manager.runUntilIdle();
      const closed = await row(second);
      expect(closed.status).toBe('filled');
      expect(new Decimal(closed.filled).toFixed()).toBe('0.002997');
    });

    it('close requested, then a resting limit buy fills on OKX, then the close executes: it sells that fill too', async () => {
      const { u, account, botId, alert } = await trader('live', { order_type: 'limit' });
      await alert({ action: 'buy', quantity: '0.001', order_type: 'market' });
      await manager.runUntilIdle();
      const limitId = await alert({ action: 'buy', quantity: '0.002', price: '50000' });
      await manager.runUntilIdle();
      expect((await row(limitId)).status).toBe('open');
      const close = await closeBot(u, botId);
      expect(close.status).toBe(202);
      // The limit fills on the exchange and the sync reads it back before the close's turn.
      const resting = onOkx(account!).find((o) => o.ordType === 'limit')!;
      Object.assign(resting, { state: 'filled', accFillSz: '0.002', avgPx: '50000', fee: '-0.000002', frozenAmt: '0' });
      account!.avail.set('BTC', new Decimal(account!.avail.get('BTC') ?? 0).plus('0.001998'));
      await manager.syncOpenOrders();
      expect(await position(botId)).toBe('0.002997');
      await manager.runUntilIdle();
      const r = await row(close.body.order_id);
      expect(r.status).toBe('filled');
      expect(new Decimal(r.amount!).toFixed()).toBe('0.002997');
      expect(await position(botId)).toBe('0');
    });

    it('a close of a stopped bot still runs (the user asked for it); a pending close can itself be canceled', async () => {
      const { u, botId, alert } = await trader('paper');
      await alert({ action: 'buy', quantity: '0.002', price: '60000' });
      await manager.runUntilIdle();
      expect((await t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token })).status).toBe(200);
      const first = await closeBot(u, botId);
      expect((await cancelOrder(u, first.body.order_id)).body).toMatchObject({ status: 'canceled' });
      const second = await closeBot(u, botId);
      expect(second.body.order_id).not.toBe(first.body.order_id);
      await manager.runUntilIdle();
      expect(await row(second.body.order_id)).toMatchObject({ status: 'filled' });
      expect(await position(botId)).toBe('0');
    });

    it("another user's bot is 404; a deleted bot is 404", async () => {
      const { u, botId, alert } = await trader('paper');
      await alert({ action: 'buy', quantity: '0.001', price: '60000' });
      await manager.runUntilIdle();
      const mallory = await t.register();
      expect((await closeBot(mallory, botId)).status).toBe(404);
      expect((await t.request('DELETE', `/api/bots/${botId}`, { token: u.access_token })).status).toBe(204);
      expect((await closeBot(u, botId)).status).toBe(404);
    });
  });
});
