import { Decimal } from '@torgovo/core';
import { FINAL_ORDER_STATUSES, OrderExecutor, OrderRecord, PlacementDecider } from '@torgovo/trading';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, connectExchange, dueNow, OkxProxy, ORDER_PATH, pendingOrder, reload, settle, sleep, TestWorker, waitFor } from './support';

describe('TradingManager live, through the real ccxt, against the fake OKX', () => {
  let db: TestDatabase;
  let fake: FakeOkxServer;
  let proxy: OkxProxy;
  let w1: TestWorker;
  let w2: TestWorker;

  // The default lease (60 s): tests that need it to pass say so with dueNow().
  // The single path (live orders one by one: retries, lookups, stale orders take it whatever the
  // setting); the batch path's cases are in live-batch-execution.e2e-spec.ts.
  const env = () => ({ OKX_API_URL: proxy.url, TRADING_MAX_ATTEMPTS: '4', TRADING_CONCURRENCY: '8', TRADING_LIVE_BATCH_SIZE: '0' });
  const placed = (a: FakeAccount, clOrdId: string) => [...a.orders.values()].filter((o) => o.clOrdId === clOrdId);
  const posts = (clOrdId: string) => fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(clOrdId)).length;

  async function trader(balances: Record<string, string> = { USDT: '100000' }): Promise<{ userId: string; account: FakeAccount }> {
    const userId = await createUser(w1.ds);
    const account = fake.addAccount({ balances });
    await connectExchange(w1, userId, account);
    return { userId, account };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await new FakeOkxServer().start();
    proxy = await new OkxProxy(fake.url).start();
    w1 = await bootWorker(db, env());
    w2 = await bootWorker(db, env());
  });
  afterAll(async () => {
    await Promise.all([w1?.close(), w2?.close()]);
    await proxy?.stop();
    await fake?.stop();
    await db?.drop();
  });
  afterEach(() => fake.clearFaults());

  it('places a market order with our client order id and records the fill, fee and exchange id', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId, amount: '0.002' });
    await expect(w1.manager.runOnce()).resolves.toEqual([{ orderId: order.id, status: 'filled', reconciled: false, reason: null }]);
    const row = await reload(w1.ds, order.id);
    const [onExchange] = placed(account, order.client_order_id);
    expect(row).toMatchObject({ status: 'filled', exchange_order_id: onExchange.ordId, fee_currency: 'BTC' });
    expect([row.filled, row.average, row.fee].map((v) => new Decimal(v!).toFixed())).toEqual(['0.002', '73384.8', '0.000002']);
    expect(new Decimal(row.cost!).toFixed()).toBe('146.7696');
    // The keys were decrypted for the call and never logged.
    for (const secret of [account.secret, account.passphrase, account.apiKey]) expect(w1.logs.text()).not.toContain(secret);
  });

  describe('quote-sized market buys, sent as their cost (tgtCcy quote_ccy): OKX sizes the base at the fill', () => {
    const TICKER_PATH = '/api/v5/market/ticker';
    const sentBody = (clOrdId: string) => JSON.parse(fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(clOrdId))[0].body) as Record<string, string>;

    it('a 100 USDT buy is sent as sz "100" without reading the ticker; the fill is recorded in base with its cost and fee', async () => {
      const { userId, account } = await trader();
      const tickersBefore = fake.count('GET', TICKER_PATH);
      const order = await pendingOrder(w1, { user_id: userId, amount: null, quote_amount: '100', price: null });
      await expect(w1.manager.runOnce()).resolves.toEqual([{ orderId: order.id, status: 'filled', reconciled: false, reason: null }]);
      expect(sentBody(order.client_order_id)).toEqual({
        instId: 'BTC-USDT',
        side: 'buy',
        ordType: 'market',
        tdMode: 'cash',
        tgtCcy: 'quote_ccy',
        sz: '100',
        clOrdId: order.client_order_id,
      });
      expect(fake.count('GET', TICKER_PATH)).toBe(tickersBefore);

      const row = await reload(w1.ds, order.id);
      const bought = new Decimal(100).div('73384.8').toDecimalPlaces(8, Decimal.ROUND_DOWN);
      const [onExchange] = placed(account, order.client_order_id);
      // amount stays null (the order was asked in quote); what it bought is `filled`.
      expect(row).toMatchObject({ status: 'filled', amount: null, fee_currency: 'BTC', exchange_order_id: onExchange.ordId });
      expect([row.quote_amount, row.filled, row.average, row.cost, row.fee].map((v) => new Decimal(v!).toFixed())).toEqual([
        '100',
        bought.toFixed(),
        '73384.8',
        bought.mul('73384.8').toFixed(),
        bought.mul('0.001').toFixed(),
      ]);
      expect(new Decimal(row.cost!).lte(100)).toBe(true);
      expect(account.avail.get('USDT')!.toFixed()).toBe(new Decimal(100000).minus(row.cost!).toFixed());
    });

    it('spends the amount asked even when the market moved away from the signal price', async () => {
      const { userId, account } = await trader({ USDT: '1000' });
      fake.exchange.setPrice('ETH-USDT', '3100');
      try {
        // Converted at the signal's 2994.5, 1000 USDT would have asked for more ETH than it pays for at 3100.
        const order = await pendingOrder(w1, { user_id: userId, symbol: 'ETH/USDT', amount: null, quote_amount: '1000', price: '2994.5' });
        await w1.manager.runOnce();
        const row = await reload(w1.ds, order.id);
        expect(sentBody(order.client_order_id)).toMatchObject({ sz: '1000', tgtCcy: 'quote_ccy' });
        const bought = new Decimal(1000).div(3100).toDecimalPlaces(6, Decimal.ROUND_DOWN);
        expect([row.status, new Decimal(row.filled).toFixed(), new Decimal(row.average!).toFixed()]).toEqual(['filled', bought.toFixed(), '3100']);
        expect(account.avail.get('USDT')!.toFixed()).toBe(new Decimal(1000).minus(bought.mul(3100)).toFixed());
      } finally {
        fake.exchange.setPrice('ETH-USDT', '2994.5');
      }
    });

    it('a cost below the quote step is rejected before anything is sent (OKX spot has no minimum notional)', async () => {
      const { userId, account } = await trader();
      const order = await pendingOrder(w1, { user_id: userId, amount: null, quote_amount: '0.05', price: null });
      const reason = 'cost 0.05 USDT is smaller than the quote step 0.1 of BTC/USDT';
      await expect(w1.manager.runOnce()).resolves.toEqual([{ orderId: order.id, status: 'rejected', reconciled: false, reason }]);
      expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'rejected', attempts: 1, reason });
      expect(posts(order.client_order_id)).toBe(0);
      expect(placed(account, order.client_order_id)).toHaveLength(0);
    });

    it('a cost order whose answer was lost is found by client order id and not placed again', async () => {
      const { userId, account } = await trader();
      const order = await pendingOrder(w1, { user_id: userId, amount: null, quote_amount: '100', price: null });
      fake.dropNextOrderResponse(order.client_order_id);
      const [first] = await w1.manager.runOnce();
      expect(first).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^network_error/) });
      expect(placed(account, order.client_order_id)).toHaveLength(1);

      const row = await settle(w2, order.id);
      const [onExchange] = placed(account, order.client_order_id);
      expect(row).toMatchObject({ status: 'filled', attempts: 2, exchange_order_id: onExchange.ordId, amount: null });
      expect(new Decimal(row.filled).toFixed()).toBe(onExchange.accFillSz);
      expect(new Decimal(row.cost!).toFixed()).toBe(new Decimal(onExchange.accFillSz).mul(onExchange.avgPx).toFixed());
      expect(posts(order.client_order_id)).toBe(1);
    });
  });

  describe('percent-of-balance buys (quote_percent), resolved from the free balance when placed', () => {
    const BALANCE_PATH = '/api/v5/account/balance';
    const ASK = '73384.8';
    const TICK = '0.1';
    const balanceReads = (a: FakeAccount) => fake.requests.filter((r) => r.method === 'GET' && r.path === BALANCE_PATH && r.headers['ok-access-key'] === a.apiKey).length;
    const percentBuy = (userId: string, percent: string) => pendingOrder(w1, { user_id: userId, amount: null, quote_percent: percent, price: null });
    /** What the quote budget buys at the fill price, cut to the BTC lot size (8 decimals). */
    const boughtWith = (quote: Decimal.Value) => new Decimal(quote).div(ASK).toDecimalPlaces(8, Decimal.ROUND_DOWN);

    it('a 25% buy on 1000 USDT free spends at most 250 USDT and records the quote amount', async () => {
      const { userId, account } = await trader({ USDT: '1000' });
      const order = await percentBuy(userId, '25');
      expect(order).toMatchObject({ quote_percent: '25.000000000000000000', quote_amount: null, amount: null });
      await expect(w1.manager.runOnce()).resolves.toEqual([{ orderId: order.id, status: 'filled', reconciled: false, reason: null }]);
      const row = await reload(w1.ds, order.id);
      expect(new Decimal(row.quote_amount!).toFixed()).toBe('250');
      expect(new Decimal(row.quote_percent!).toFixed()).toBe('25');
      expect(new Decimal(row.filled).toFixed()).toBe(boughtWith(250).toFixed());
      expect(new Decimal(row.cost!).lte(250)).toBe(true);
      expect(new Decimal(row.cost!).toFixed()).toBe(boughtWith(250).mul(ASK).toFixed());
      // Sent as the 250 USDT it spends, not as base converted at a price read earlier.
      const [sent] = fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(order.client_order_id));
      expect(JSON.parse(sent.body)).toMatchObject({ sz: '250', tgtCcy: 'quote_ccy', ordType: 'market' });
      expect(account.avail.get('USDT')!.toFixed()).toBe(new Decimal(1000).minus(row.cost!).toFixed());
      expect(balanceReads(account)).toBe(1);
    });

    it('a 100% buy spends the whole free balance and fills, though the price rose after the signal', async () => {
      const { userId, account } = await trader({ USDT: '1000.37' });
      // Converted into BTC at the signal's price, the whole balance would not pay for the fill at 75000.
      const order = await pendingOrder(w1, { user_id: userId, amount: null, quote_percent: '100', price: ASK });
      fake.exchange.setPrice('BTC-USDT', '75000');
      try {
        await expect(w1.manager.runOnce()).resolves.toEqual([{ orderId: order.id, status: 'filled', reconciled: false, reason: null }]);
      } finally {
        fake.exchange.setPrice('BTC-USDT', ASK);
      }
      const row = await reload(w1.ds, order.id);
      // The whole balance cut to the 0.1 USDT quote step, written before it was sent.
      expect(new Decimal(row.quote_amount!).toFixed()).toBe('1000.3');
      const [sent] = fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(order.client_order_id));
      expect(JSON.parse(sent.body)).toMatchObject({ sz: '1000.3', tgtCcy: 'quote_ccy' });
      const bought = new Decimal('1000.3').div(75000).toDecimalPlaces(8, Decimal.ROUND_DOWN);
      expect([row.filled, row.average].map((v) => new Decimal(v!).toFixed())).toEqual([bought.toFixed(), '75000']);
      expect(new Decimal(row.cost!).lte('1000.3')).toBe(true);
      expect(account.avail.get('USDT')!.toFixed()).toBe(new Decimal('1000.37').minus(row.cost!).toFixed());
    });

    it('no free quote balance → rejected with the reason, never sent to the exchange', async () => {
      const { userId, account } = await trader({ USDT: '0', BTC: '1' });
      const order = await percentBuy(userId, '25');
      const [result] = await w1.manager.runOnce();
      const reason = 'Insufficient USDT balance: 0 free, nothing to spend 25% of';
      expect(result).toEqual({ orderId: order.id, status: 'rejected', reconciled: false, reason });
      expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'rejected', attempts: 1, reason, quote_amount: null });
      await w1.manager.runOnce();
      expect(posts(order.client_order_id)).toBe(0);
      expect(placed(account, order.client_order_id)).toHaveLength(0);
    });

    it('two 50% buys in a row: the second spends half of what the first left', async () => {
      const { userId, account } = await trader({ USDT: '1000' });
      const first = await percentBuy(userId, '50');
      const second = await percentBuy(userId, '50');
      const results = await w1.manager.runUntilIdle();
      expect(results.map((r) => [r.orderId, r.status])).toEqual([[first.id, 'filled'], [second.id, 'filled']]);
      const [r1, r2] = await Promise.all([reload(w1.ds, first.id), reload(w1.ds, second.id)]);
      expect(new Decimal(r1.quote_amount!).toFixed()).toBe('500');
      const left = new Decimal(1000).minus(r1.cost!);
      // Half of what is left, cut down to the quote step: the cost that was sent.
      const half = left.div(2).toNearest(TICK, Decimal.ROUND_DOWN);
      expect(new Decimal(r2.quote_amount!).toFixed()).toBe(half.toFixed());
      expect(new Decimal(r2.filled).toFixed()).toBe(boughtWith(half).toFixed());
      expect(new Decimal(r2.cost!).lte(half)).toBe(true);
      expect(account.avail.get('USDT')!.toFixed()).toBe(left.minus(r2.cost!).toFixed());
      expect([...account.orders.values()].map((o) => o.clOrdId)).toEqual([first.client_order_id, second.client_order_id]);
    });

    it('a percent buy whose answer was lost is found by client order id, not re-sized nor placed again', async () => {
      const { userId, account } = await trader({ USDT: '1000' });
      const order = await percentBuy(userId, '25');
      fake.dropNextOrderResponse(order.client_order_id);
      const [first] = await w1.manager.runOnce();
      expect(first).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^network_error/) });
      expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'pending', quote_amount: '250.000000000000000000' });
      const readsBefore = balanceReads(account);

      const row = await settle(w2, order.id);
      expect(row).toMatchObject({ status: 'filled', attempts: 2, quote_amount: '250.000000000000000000' });
      expect(new Decimal(row.filled).toFixed()).toBe(boughtWith(250).toFixed());
      expect(posts(order.client_order_id)).toBe(1);
      // Looked up first and found: the balance (now 750 free) was not read again.
      expect(balanceReads(account)).toBe(readsBefore);
    });
  });

  it('decided alone → its call leaves 4 s later: OKX’s expTime is bound to the decision (+13 s), not to when the call left; placed once', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    const decider = w1.ctx.get(PlacementDecider);
    const original = decider.decide.bind(decider);
    jest.spyOn(decider, 'decide').mockImplementationOnce(async (...args) => {
      const verdict = await original(...args);
      await sleep(4_000);
      return verdict;
    });
    const result = (await w1.manager.runOnce()).find((r) => r.orderId === order.id);
    jest.restoreAllMocks();
    expect(result).toMatchObject({ status: 'filled' });
    expect(account.orders.size).toBe(1);
    const [post] = fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(order.client_order_id));
    expect(Number(post.headers.exptime)).toBeLessThanOrEqual((await reload(w1.ds, order.id)).sent_at!.getTime() + 13_000 + 50);
  });

  it("rejects on insufficient funds with the exchange's reason, placed once and never retried", async () => {
    const { userId } = await trader();
    fake.inject('insufficient_funds', { path: ORDER_PATH });
    const order = await pendingOrder(w1, { user_id: userId });
    const [result] = await w1.manager.runOnce();
    expect(result).toMatchObject({ status: 'rejected', reason: 'Order failed. Insufficient USDT balance in account.' });
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'rejected', attempts: 1, reason: 'Order failed. Insufficient USDT balance in account.' });
    await w1.manager.runOnce();
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('rejects a live order of a user with no exchange connected, without calling the exchange', async () => {
    const userId = await createUser(w1.ds);
    const before = fake.requests.length;
    const order = await pendingOrder(w1, { user_id: userId });
    await w1.manager.runOnce();
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'canceled', reason: 'exchange_disconnected: no exchange keys are connected' });
    expect(fake.requests.length).toBe(before);
  });

  it('retries a 429 and a 5xx with backoff, reconciling before each retry, then places the order once', async () => {
    const { userId, account } = await trader();
    fake.inject('rate_limit', { path: ORDER_PATH });
    fake.inject('server_error', { path: ORDER_PATH, status: 502 });
    const order = await pendingOrder(w1, { user_id: userId });

    const [first] = await w1.manager.runOnce();
    expect(first).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^rate_limited/) });
    const afterFirst = await reload(w1.ds, order.id);
    expect(afterFirst).toMatchObject({ status: 'pending', attempts: 1 });
    expect(afterFirst.next_attempt_at.getTime()).toBeGreaterThan(Date.now() - 50); // backoff, not at once

    const row = await settle(w2, order.id);
    expect(row).toMatchObject({ status: 'filled', reason: null });
    expect(row.attempts).toBeGreaterThanOrEqual(3);
    expect(placed(account, order.client_order_id)).toHaveLength(1);
    // Every retry looked the order up first (GET by clOrdId) before sending it again.
    const lookups = fake.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH && r.url.includes(`clOrdId=${order.client_order_id}`));
    expect(lookups.length).toBeGreaterThanOrEqual(row.attempts - 1);
  });

  it('fails an order after its attempts are spent, with the last reason, having never placed it', async () => {
    const { userId, account } = await trader();
    fake.inject('server_error', { path: ORDER_PATH, times: Infinity });
    const order = await pendingOrder(w1, { user_id: userId });
    const row = await settle(w1, order.id);
    expect(row.status).toBe('failed');
    expect(row.reason).toMatch(/exchange_unavailable/);
    expect(row.attempts).toBeGreaterThanOrEqual(4);
    expect(placed(account, order.client_order_id)).toHaveLength(0);
  });

  it('finds an order whose answer was lost (connection cut after placing) instead of placing it again', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(order.client_order_id);
    const [first] = await w1.manager.runOnce();
    expect(first).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^network_error/) });
    expect(placed(account, order.client_order_id)).toHaveLength(1);

    const row = await settle(w2, order.id);
    expect(row).toMatchObject({ status: 'filled', attempts: 2, exchange_order_id: placed(account, order.client_order_id)[0].ordId });
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('a worker slow before sending, whose lease passed while another worker placed the order, sends nothing: one signal, one order', async () => {
    const slow = await new OkxProxy(fake.url).start();
    const wA = await bootWorker(db, { ...env(), OKX_API_URL: slow.url });
    try {
      const { userId, account } = await trader();
      const order = await pendingOrder(w1, { user_id: userId });
      slow.hold((req) => (req.url ?? '').startsWith('/api/v5/public/instruments'));
      const runningA = wA.manager.runOnce(); // claims attempt 1, then waits for the markets
      await waitFor(() => slow.heldCount > 0, 10_000);
      await dueNow(w1.ds, order.id); // A's lease has passed
      const byB = (await w1.manager.runOnce()).find((r) => r.orderId === order.id); // attempt 2: looks it up (absent), places it
      expect(byB).toMatchObject({ status: 'filled', reconciled: false });
      slow.release();
      const byA = (await runningA).find((r) => r.orderId === order.id);
      expect(byA).toMatchObject({ status: 'lost_lease' }); // learnt right before sending, so it sent nothing
      expect(posts(order.client_order_id)).toBe(1);
      expect(placed(account, order.client_order_id)).toHaveLength(1);
      expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'filled', attempts: 2 });
    } finally {
      await wA.close();
      await slow.stop();
    }
  });

  it('a look-up refused permanently (an auth glitch) on an order an earlier attempt placed is retried and finds it filled: never rejected', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(order.client_order_id); // placed and filled, answer lost
    await expect(w1.manager.runOnce()).resolves.toMatchObject([{ orderId: order.id, status: 'retry' }]);
    expect(placed(account, order.client_order_id).map((o) => o.state)).toEqual(['filled']);

    fake.inject('invalid_key', { path: ORDER_PATH }); // the next /trade/order request: the look-up by clOrdId
    await dueNow(w1.ds, order.id);
    await expect(w1.manager.runOnce()).resolves.toMatchObject([{ orderId: order.id, status: 'retry', reason: expect.stringMatching(/^authentication_failed/) }]);
    const row = await settle(w1, order.id);
    expect({ status: row.status, filled: new Decimal(row.filled).toFixed(), reason: row.reason, attempts: row.attempts }).toEqual({ status: 'filled', filled: '0.001', reason: null, attempts: 3 });
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('an order an earlier attempt may have placed is not rejected when the exchange gets disconnected: looked up with the keys it was sent with', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(order.client_order_id);
    await w1.manager.runOnce();
    // What DELETE /users/me/exchange does: the keys are retired, kept sealed for the look-up only.
    await w1.ds.query(`UPDATE exchange_credentials SET retired_at = clock_timestamp() WHERE user_id = $1`, [userId]);
    await dueNow(w1.ds, order.id);
    const row = await settle(w1, order.id);
    expect(row).toMatchObject({ status: 'filled', attempts: 2, reason: null, exchange_order_id: placed(account, order.client_order_id)[0].ordId });
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('an order whose keys are gone altogether (erased) cannot be looked up: it ends canceled credential_changed and is never sent with other keys', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(order.client_order_id);
    await w1.manager.runOnce();
    await w1.ds.query(`DELETE FROM exchange_credentials WHERE user_id = $1`, [userId]);
    await connectExchange(w1, userId, account);
    await dueNow(w1.ds, order.id);
    const [result] = await w1.manager.runOnce();
    expect(result).toMatchObject({ orderId: order.id, status: 'canceled' });
    expect(result.reason).toMatch(/^credential_changed: /);
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('when every look-up of a possibly placed order fails, it ends `failed` with its outcome unknown after the reconcile-only attempts', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(order.client_order_id);
    await w1.manager.runOnce();
    fake.inject('invalid_key', { path: ORDER_PATH, times: Infinity });
    const row = await settle(w1, order.id);
    expect(row.status).toBe('failed');
    expect(row.reason).toBe(`authentication_failed: Invalid OK-ACCESS-KEY. (placement outcome unknown: check the exchange for ${order.client_order_id})`);
    expect(row.attempts).toBe(4 + 5); // TRADING_MAX_ATTEMPTS + the reconcile-only attempts
    expect(placed(account, order.client_order_id)).toHaveLength(1);
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('an OKX "Duplicated clOrdId" answer means the order exists: it is looked up and recorded, never rejected', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '60000' });
    // Already resting on OKX under our client order id, e.g. an earlier placement a look-up did not see yet.
    const body = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '60000', sz: '0.01', clOrdId: order.client_order_id };
    fake.exchange.placeOrder(account, body, false);
    await expect(w1.manager.runOnce()).resolves.toEqual([
      { orderId: order.id, status: 'retry', reconciled: false, reason: 'duplicate_client_order_id: Duplicated clOrdId' },
    ]);
    const row = await settle(w1, order.id);
    expect(row).toMatchObject({ status: 'open', attempts: 2, reason: null, exchange_order_id: placed(account, order.client_order_id)[0].ordId });
    expect(placed(account, order.client_order_id)).toHaveLength(1);
    await w1.ds.query(`UPDATE orders SET status = 'canceled' WHERE id = $1`, [order.id]); // out of the open-orders sync below
  });

  it('an old signal is not traded: a live order still unplaced TRADING_MAX_ORDER_AGE_SECONDS after acceptance is rejected as stale', async () => {
    const { userId, account } = await trader();
    const age = (id: string) => w1.ds.query(`UPDATE orders SET created_at = now() - interval '11 minutes', next_attempt_at = now() WHERE id = $1`, [id]);

    // Never sent: rejected without a request to the exchange.
    const fresh = await pendingOrder(w1, { user_id: userId });
    await age(fresh.id);
    const [first] = await w1.manager.runOnce();
    expect(first).toMatchObject({ orderId: fresh.id, status: 'rejected', reason: expect.stringMatching(/^stale_order: not placed within 600 s/) });
    expect(posts(fresh.client_order_id)).toBe(0);

    // Sent before, answer lost: the lookup finds it on the exchange, so it is recorded, never rejected.
    const lost = await pendingOrder(w1, { user_id: userId });
    fake.dropNextOrderResponse(lost.client_order_id);
    await w1.manager.runOnce();
    await age(lost.id);
    const [found] = await w1.manager.runOnce();
    expect(found).toMatchObject({ orderId: lost.id, status: 'filled', reconciled: true });
    expect(placed(account, lost.client_order_id)).toHaveLength(1);

    // Retried after a 5xx and now too old: looked up (absent), then rejected, not sent again.
    const retried = await pendingOrder(w1, { user_id: userId });
    fake.inject('server_error', { path: ORDER_PATH, status: 502 });
    await w1.manager.runOnce();
    await age(retried.id);
    const [last] = await w1.manager.runOnce();
    expect(last).toMatchObject({ orderId: retried.id, status: 'rejected', reason: expect.stringMatching(/^stale_order/) });
    expect(posts(retried.client_order_id)).toBe(1);
    expect(placed(account, retried.client_order_id)).toHaveLength(0);
  });

  it('a worker killed between submitting and the answer: after the lease another worker finds the order and does not place it again', async () => {
    const victim = await bootWorker(db, env());
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.latencyMs = 300;
    const running = victim.manager.runOnce();
    while (posts(order.client_order_id) === 0) await sleep(5);
    // The crash: the request is on the wire, the worker loses its database for good.
    await victim.ds.destroy();
    fake.latencyMs = 0;
    await expect(running).resolves.toMatchObject([{ orderId: order.id, status: 'error' }]);
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'submitting', attempts: 1 });
    expect(placed(account, order.client_order_id)).toHaveLength(1);

    await expect(w2.manager.runOnce()).resolves.toEqual([]); // the lease still holds
    await dueNow(w1.ds, order.id); // … until it passes
    const [result] = await w2.manager.runOnce();
    expect(result).toEqual({ orderId: order.id, status: 'filled', reconciled: true, reason: null });
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'filled', attempts: 2, exchange_order_id: placed(account, order.client_order_id)[0].ordId });
    expect(posts(order.client_order_id)).toBe(1);
    await victim.close().catch(() => undefined);
  });

  it('syncs an open limit order once the exchange fills it', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '60000' });
    await w1.manager.runOnce();
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'open', closed_at: null });
    const [resting] = placed(account, order.client_order_id);
    Object.assign(resting, { state: 'filled', accFillSz: '0.01', avgPx: '60000', fee: '-0.00001', uTime: Date.now() });
    await expect(w2.manager.syncOpenOrders()).resolves.toMatchObject({ checked: 1, changed: 1, errors: 0 });
    const row = await reload(w1.ds, order.id);
    expect(row).toMatchObject({ status: 'filled' });
    expect([row.filled, row.average, row.fee].map((v) => new Decimal(v!).toFixed())).toEqual(['0.01', '60000', '0.00001']);
    expect(row.closed_at).toBeInstanceOf(Date);
  });

  it('sends a limit price off the tick rounded never past the signal limit: a buy DOWN, a sell UP', async () => {
    const { userId } = await trader({ USDT: '100000', BTC: '1' });
    const buy = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '30000.05' });
    const sell = await pendingOrder(w1, { user_id: userId, side: 'sell', type: 'limit', amount: '0.01', price: '80000.05' });
    await w1.manager.runUntilIdle();
    const sentPx = (clOrdId: string) => (JSON.parse(fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(clOrdId))[0].body) as { px: string }).px;
    expect([sentPx(buy.client_order_id), sentPx(sell.client_order_id)]).toEqual(['30000', '80000.1']);
    await w1.ds.query(`UPDATE orders SET status = 'canceled' WHERE id = ANY($1::uuid[])`, [[buy.id, sell.id]]);
  });

  it("an order the exchange fails after accepting it is recorded `rejected` with the exchange's reason, by the sync or a look-up", async () => {
    const { userId, account } = await trader();
    const reason = 'rejected_by_exchange: OKX order state order_failed';
    // Resting, then failed by OKX: the sync records it.
    const resting = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '60000' });
    await w1.manager.runOnce();
    placed(account, resting.client_order_id)[0].state = 'order_failed';
    await expect(w2.manager.syncOpenOrders()).resolves.toMatchObject({ changed: 1, errors: 0 });
    expect(await reload(w1.ds, resting.id)).toMatchObject({ status: 'rejected', reason, closed_at: expect.any(Date) });
    // Answer lost, then failed by OKX: the look-up before the retry records it.
    const lost = await pendingOrder(w1, { user_id: userId, type: 'limit', amount: '0.01', price: '60000' });
    fake.dropNextOrderResponse(lost.client_order_id);
    await w1.manager.runOnce();
    placed(account, lost.client_order_id)[0].state = 'order_failed';
    expect(await settle(w1, lost.id)).toMatchObject({ status: 'rejected', attempts: 2, reason });
  });

  it('two workers on one queue of 1,000 orders across 50 users: each placed exactly once, one at a time per user', async () => {
    const users = await Promise.all(Array.from({ length: 50 }, () => trader({ USDT: '1000000' })));
    const postsBefore = fake.count('POST', ORDER_PATH);
    const ids: string[] = [];
    // One commit per order, round-robin over users, so created_at gives each user's FIFO order.
    for (let i = 0; i < 1000; i++) ids.push((await pendingOrder(w1, { user_id: users[i % 50].userId, amount: '0.001' })).id);
    fake.latencyMs = 2; // room for overlaps, if the claim allowed any
    const [by1, by2] = [w1, w2].map((w) => jest.spyOn(w.ctx.get(OrderExecutor), 'execute'));
    const started = Date.now();
    w1.manager.start();
    w2.manager.start();
    try {
      for (;;) {
        const [{ n }]: Array<{ n: number }> = await w1.ds.query(
          `SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = ANY($2::varchar[])`,
          [ids, FINAL_ORDER_STATUSES],
        );
        if (n === 1000) break;
        if (Date.now() - started > 90_000) throw new Error(`only ${n} of 1000 orders done after 90 s`);
        await sleep(100);
      }
    } finally {
      await Promise.all([w1.manager.stop(), w2.manager.stop()]);
    }
    const elapsed = Date.now() - started;

    expect(fake.count('POST', ORDER_PATH) - postsBefore).toBe(1000);
    const rows: OrderRecord[] = await w1.ds.query(`SELECT * FROM orders WHERE id = ANY($1::uuid[]) ORDER BY created_at, id`, [ids]);
    expect(rows.every((r) => r.status === 'filled' && r.attempts === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.client_order_id)).size).toBe(1000);
    expect(new Set(rows.map((r) => r.exchange_order_id)).size).toBe(1000);
    for (const { userId, account } of users) {
      // Exactly the user's 20 orders at their exchange, placed in the order the signals came in.
      const mine = rows.filter((r) => r.user_id === userId);
      expect([...account.orders.values()].map((o) => o.clOrdId)).toEqual(mine.map((r) => r.client_order_id));
      expect(proxy.maxInFlightByKey.get(account.apiKey)).toBe(1);
    }
    expect(proxy.maxInFlight).toBeGreaterThan(1); // users in parallel
    expect(proxy.maxInFlight).toBeLessThanOrEqual(16); // 2 workers × TRADING_CONCURRENCY
    // Both workers took part; together they executed each order once.
    expect(by1.mock.calls.length).toBeGreaterThan(100);
    expect(by2.mock.calls.length).toBeGreaterThan(100);
    expect(by1.mock.calls.length + by2.mock.calls.length).toBe(1000);
    process.stdout.write(`1000 live orders by 2 workers in ${elapsed} ms (w1 ${by1.mock.calls.length}, w2 ${by2.mock.calls.length})\n`);
  }, 120_000);
});
