import { request } from 'node:http';
import { Decimal } from '@torgovo/core';
import { inProcessRunners, LiveExchangeGateway, OkxClientPool, OkxEndpoint, OkxEndpointOptions } from '@torgovo/trading';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { credentialsOf, exchangeFailure } from './support';

const ORDER_PATH = '/api/v5/trade/order';

describe('LiveExchangeGateway through ccxt against the fake OKX', () => {
  let fake: FakeOkxServer;
  let account: FakeAccount;
  let gateway: LiveExchangeGateway;

  const gatewayFor = (a: FakeAccount, sandbox = a.demo, options: OkxEndpointOptions = {}) =>
    new LiveExchangeGateway(new OkxEndpoint({ apiUrl: fake.url, sandbox, ...options }), credentialsOf(a, sandbox));

  beforeAll(async () => {
    fake = await new FakeOkxServer().start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    account = fake.addAccount({ balances: { USDT: '10000', BTC: '0.5' } });
    gateway = gatewayFor(account);
    fake.requests.length = 0;
  });
  afterEach(() => fake.clearFaults());

  it('fetches the balance exactly, with the balance call alone (no market load, no currencies)', async () => {
    await expect(gateway.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.5', used: '0', total: '0.5' },
      USDT: { free: '10000', used: '0', total: '10000' },
    });
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v5/account/balance']);
  });

  it('opens at most maxConnections (OKX_MAX_CONNECTIONS) connections per ccxt instance: calls beyond wait for one; unset, ccxt\'s own cap (256) leaves 6 calls all in flight', async () => {
    fake.latencyMs = 150;
    const inFlightOf = async (options: OkxEndpointOptions) => {
      const g = gatewayFor(account, account.demo, options);
      await g.fetchBalance(); // ccxt builds its HTTP client on its first call
      const connections = fake.connections;
      fake.maxInFlight = 0;
      const balances = await Promise.all(Array.from({ length: 6 }, () => g.fetchBalance()));
      expect(balances.every((b) => b.USDT.free === '10000')).toBe(true);
      return { inFlight: fake.maxInFlight, opened: fake.connections - connections };
    };
    const capped = await inFlightOf({ maxConnections: 2 });
    expect(capped.inFlight).toBe(2);
    expect(capped.opened).toBeLessThanOrEqual(2);
    const uncapped = await inFlightOf({});
    expect(uncapped.inFlight).toBe(6);
  });

  it('loads the spot markets with their steps', async () => {
    const markets = await gateway.loadMarkets();
    expect(markets.find((m) => m.symbol === 'BTC/USDT')).toEqual({
      symbol: 'BTC/USDT',
      id: 'BTC-USDT',
      base: 'BTC',
      quote: 'USDT',
      active: true,
      amountPrecision: '0.00000001',
      pricePrecision: '0.1',
      minAmount: '0.00001',
      minCost: null,
    });
    expect(markets.map((m) => m.symbol)).toContain('DOGE/USDT');
  });

  it('places a market order once, with our clOrdId, and reads its fill back', async () => {
    const order = await gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'sig1abc' });
    expect(order).toMatchObject({
      clientOrderId: 'sig1abc',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      status: 'closed',
      amount: '0.001',
      filled: '0.001',
      average: '73384.8',
      cost: '73.3848',
      fee: '0.000001',
      feeCurrency: 'BTC',
    });
    expect(order.exchangeOrderId).toMatch(/^\d{19}$/);
    expect(fake.count('POST', ORDER_PATH)).toBe(1);
    const sent = JSON.parse(fake.requests.find((r) => r.method === 'POST')!.body) as Record<string, string>;
    expect(sent).toMatchObject({ instId: 'BTC-USDT', side: 'buy', ordType: 'market', sz: '0.001', tdMode: 'cash', tgtCcy: 'base_ccy', clOrdId: 'sig1abc' });

    await expect(gateway.fetchBalance()).resolves.toMatchObject({
      BTC: { free: '0.500999', total: '0.500999' },
      USDT: { free: '9926.6152' },
    });
  });

  it('places a market buy by cost: sz in quote (tgtCcy quote_ccy), the base read back from the fill', async () => {
    const order = await gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', cost: '100', clientOrderId: 'cost1abc' });
    const bought = new Decimal(100).div('73384.8').toDecimalPlaces(8, Decimal.ROUND_DOWN);
    expect(order).toMatchObject({
      clientOrderId: 'cost1abc',
      side: 'buy',
      type: 'market',
      status: 'closed',
      amount: bought.toFixed(),
      requestedCost: '100',
      filled: bought.toFixed(),
      average: '73384.8',
      cost: bought.mul('73384.8').toFixed(),
      fee: bought.mul('0.001').toFixed(),
      feeCurrency: 'BTC',
    });
    expect(new Decimal(order.cost).lte(100)).toBe(true);
    const sent = JSON.parse(fake.requests.find((r) => r.method === 'POST')!.body) as Record<string, string>;
    expect(sent).toEqual({ instId: 'BTC-USDT', side: 'buy', ordType: 'market', sz: '100', tdMode: 'cash', tgtCcy: 'quote_ccy', clOrdId: 'cost1abc' });
    // Charged what the fill cost, not the 100 asked.
    await expect(gateway.fetchBalance()).resolves.toMatchObject({ USDT: { free: new Decimal(10000).minus(order.cost).toFixed() } });
    await expect(gateway.fetchOrder({ clientOrderId: 'cost1abc', symbol: 'BTC/USDT' })).resolves.toEqual(order);
  });

  it('cuts a cost DOWN to the quote step itself, so ccxt sends exactly what was checked', async () => {
    await gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', cost: '100.0999', clientOrderId: 'cost2' });
    await gateway.createOrder({ symbol: 'XRP/USDT', side: 'buy', type: 'market', cost: '12.34567', clientOrderId: 'cost3' });
    const sizes = fake.requests.filter((r) => r.method === 'POST').map((r) => (JSON.parse(r.body) as Record<string, string>).sz);
    expect(sizes).toEqual(['100', '12.3456']);
  });

  it('refuses a cost order that is not a market buy, or rounds to nothing, before sending it', async () => {
    const base = { symbol: 'BTC/USDT', clientOrderId: 'badcost1' } as const;
    await expect(exchangeFailure(gateway.createOrder({ ...base, side: 'sell', type: 'market', cost: '100' }))).resolves.toMatchObject({ code: 'invalid_order' });
    await expect(exchangeFailure(gateway.createOrder({ ...base, side: 'buy', type: 'limit', price: '50000', cost: '100' }))).resolves.toMatchObject({ code: 'invalid_order' });
    await expect(exchangeFailure(gateway.createOrder({ ...base, side: 'buy', type: 'market', cost: '0.05' }))).resolves.toMatchObject({
      kind: 'permanent',
      code: 'invalid_amount',
      reason: 'cost 0.05 USDT is smaller than the quote step 0.1 of BTC/USDT',
    });
    await expect(exchangeFailure(gateway.createOrder({ ...base, side: 'buy', type: 'market', cost: '0' }))).resolves.toMatchObject({ code: 'invalid_amount' });
    expect(fake.count('POST', ORDER_PATH)).toBe(0);
  });

  it('a cost order: insufficient funds when sz is more than the free quote, too small a fill refused by OKX', async () => {
    const poor = gatewayFor(fake.addAccount({ balances: { USDT: '99.9' } }));
    await expect(exchangeFailure(poor.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', cost: '100', clientOrderId: 'poor1' }))).resolves.toMatchObject({
      kind: 'permanent',
      code: 'insufficient_funds',
      exchangeCode: '51008',
    });
    // 0.5 USDT buys less than BTC's minSz: without a price we cannot know, OKX refuses it.
    await expect(exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', cost: '0.5', clientOrderId: 'dust2' }))).resolves.toMatchObject({
      kind: 'permanent',
      code: 'invalid_order',
      exchangeCode: '51020',
    });
  });

  it('the fake refuses tgtCcy quote_ccy on a limit order, as OKX does (tgtCcy is for market orders)', async () => {
    const raw = new OkxClientPool({ apiUrl: fake.url });
    const body = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', sz: '0.01', px: '50000', tgtCcy: 'quote_ccy', clOrdId: 'tgt1' };
    await expect(raw.use(credentialsOf(account), (c) => c.privatePostTradeOrder(body))).rejects.toMatchObject({
      name: 'BadRequest',
      message: expect.stringContaining('Parameter tgtCcy error'),
    });
    expect(account.orders.size).toBe(0);
  });

  it('finds an order by clOrdId and by id, and answers null for an unknown one', async () => {
    const placed = await gateway.createOrder({ symbol: 'ETH/USDT', side: 'buy', type: 'market', amount: '0.01', clientOrderId: 'findme1' });
    await expect(gateway.fetchOrder({ clientOrderId: 'findme1', symbol: 'ETH/USDT' })).resolves.toEqual(placed);
    await expect(gateway.fetchOrder({ id: placed.exchangeOrderId, symbol: 'ETH/USDT' })).resolves.toEqual(placed);
    await expect(gateway.fetchOrder({ clientOrderId: 'neverplaced', symbol: 'ETH/USDT' })).resolves.toBeNull();
    await expect(gateway.fetchOrder({ id: '1234567890123456789', symbol: 'ETH/USDT' })).resolves.toBeNull();
  });

  it('rests a limit order with its funds frozen and cancels it', async () => {
    const open = await gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.01', price: '50000', clientOrderId: 'lim1' });
    expect(open).toMatchObject({ status: 'open', price: '50000', filled: '0', average: null });
    await expect(gateway.fetchBalance()).resolves.toMatchObject({ USDT: { free: '9500', used: '500', total: '10000' } });

    const canceled = await gateway.cancelOrder({ clientOrderId: 'lim1', symbol: 'BTC/USDT' });
    expect(canceled).toMatchObject({ exchangeOrderId: open.exchangeOrderId, status: 'canceled' });
    await expect(gateway.fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000', used: '0' } });
    // OKX refuses a second cancel (51401); the gateway answers with the order as it is.
    await expect(gateway.cancelOrder({ id: open.exchangeOrderId, symbol: 'BTC/USDT' })).resolves.toMatchObject({ status: 'canceled' });
    await expect(exchangeFailure(gateway.cancelOrder({ clientOrderId: 'nosuch', symbol: 'BTC/USDT' }))).resolves.toMatchObject({
      kind: 'permanent',
      code: 'order_not_found',
    });
  });

  it('gives the selected deposit address of a network', async () => {
    await expect(gateway.fetchDepositAddress('USDT', 'TRC20')).resolves.toEqual({
      currency: 'USDT',
      address: account.depositAddresses[0].addr,
      tag: null,
      network: 'TRC20',
    });
    await expect(gateway.fetchDepositAddress('USDT', 'TON')).resolves.toMatchObject({ tag: '11563797', network: 'TON' });
    const e = await exchangeFailure(gateway.fetchDepositAddress('USDT', 'SOL'));
    expect(e).toMatchObject({ kind: 'permanent', code: 'bad_request' });
  });

  it('lists deposits with exact amounts, filtered by currency and time', async () => {
    const now = Date.now();
    const old = fake.addDeposit(account, { ccy: 'USDT', amt: '5', ts: now - 60_000 });
    const recent = fake.addDeposit(account, { ccy: 'USDT', amt: '100.123456789012345678', ts: now - 1_000, state: '0' });
    fake.addDeposit(account, { ccy: 'BTC', amt: '0.01', chain: 'BTC-Bitcoin', ts: now - 500 });

    const all = await gateway.fetchDeposits('USDT');
    expect(all.map((d) => d.id)).toEqual([recent.depId, old.depId]);
    expect(all[0]).toEqual({
      id: recent.depId,
      txId: recent.txId,
      currency: 'USDT',
      amount: '100.123456789012345678',
      address: recent.to,
      tag: null,
      network: 'TRC20',
      status: 'pending',
      timestamp: recent.ts,
    });
    const since = await gateway.fetchDeposits('USDT', now - 1_000);
    expect(since.map((d) => d.id)).toEqual([recent.depId]);
    await expect(gateway.fetchDeposits()).resolves.toHaveLength(3);
  });

  it('reads the ticker', async () => {
    await expect(gateway.fetchTicker('BTC/USDT')).resolves.toEqual({ symbol: 'BTC/USDT', last: '73384.8', bid: '73384.7', ask: '73384.8' });
    await expect(exchangeFailure(gateway.fetchTicker('NOPE/USDT'))).resolves.toMatchObject({ code: 'bad_symbol' });
  });

  it('sends x-simulated-trading: 1 with a sandbox credential (and OKX needs it for demo keys)', async () => {
    const demo = fake.addAccount({ demo: true });
    await expect(gatewayFor(demo, true).fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
    const signed = fake.requests.filter((r) => r.headers['ok-access-key'] === demo.apiKey);
    expect(signed.length).toBeGreaterThan(0);
    expect(signed.every((r) => r.headers['x-simulated-trading'] === '1')).toBe(true);

    const e = await exchangeFailure(gatewayFor(demo, false).fetchBalance());
    expect(e).toMatchObject({ kind: 'permanent', code: 'authentication_failed', exchangeCode: '50101' });
    const live = fake.requests.filter((r) => r.method === 'GET' && r.path === '/api/v5/account/balance' && r.headers['ok-access-key'] === account.apiKey);
    expect(live.every((r) => r.headers['x-simulated-trading'] === undefined)).toBe(true);
  });

  it('reports an unknown key as permanent, with the exchange message and no secret', async () => {
    const stranger = { ...account, apiKey: 'not-registered-key', secret: 'ThisSecretMustNotLeak' };
    const e = await exchangeFailure(gatewayFor(stranger).fetchBalance());
    expect(e).toMatchObject({ kind: 'permanent', code: 'authentication_failed', exchangeCode: '50111', reason: 'Invalid OK-ACCESS-KEY.' });
    expect(JSON.stringify(e) + e.message).not.toContain('ThisSecretMustNotLeak');

    fake.inject('invalid_key', { path: '/api/v5/account/balance' });
    await expect(exchangeFailure(gateway.fetchBalance())).resolves.toMatchObject({ kind: 'permanent', exchangeCode: '50111' });
  });

  it('is rejected by the fake when the signature is wrong', async () => {
    const e = await exchangeFailure(gatewayFor({ ...account, secret: 'a-wrong-secret' }).fetchBalance());
    expect(e).toMatchObject({ kind: 'permanent', code: 'authentication_failed', exchangeCode: '50113', reason: 'Invalid Sign.' });

    // And by hand: a well-formed request whose signature does not match the body.
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${fake.url}/api/v5/account/balance`,
        {
          headers: {
            'OK-ACCESS-KEY': account.apiKey,
            'OK-ACCESS-SIGN': Buffer.alloc(32).toString('base64'),
            'OK-ACCESS-TIMESTAMP': new Date().toISOString(),
            'OK-ACCESS-PASSPHRASE': account.passphrase,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body)).toMatchObject({ code: '50113' });
  });

  it('reports 429 and 5xx as transient', async () => {
    await gateway.loadMarkets();
    fake.inject('rate_limit');
    await expect(exchangeFailure(gateway.fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'rate_limited', exchangeCode: '50011' });
    fake.inject('server_error', { status: 502 });
    await expect(exchangeFailure(gateway.fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'exchange_unavailable' });
    fake.inject('server_error');
    await expect(exchangeFailure(gateway.fetchBalance())).resolves.toMatchObject({ kind: 'transient' });
    await expect(gateway.fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
  });

  it('reports an unreachable exchange as a transient network error', async () => {
    const nowhere = new LiveExchangeGateway(new OkxEndpoint({ apiUrl: 'http://127.0.0.1:9' }), credentialsOf(account));
    const e = await exchangeFailure(nowhere.fetchBalance());
    // In a trader's words: our URL and the socket error are for the log only.
    expect(e).toMatchObject({ kind: 'transient', code: 'network_error', reason: 'OKX could not be reached (network error); the order is looked up before any retry' });
    expect(JSON.stringify(e) + e.message).not.toMatch(/127\.0\.0\.1|http:|ECONNREFUSED/);
  });

  it('recovers from a failed first loadMarkets on the same client', async () => {
    fake.inject('server_error', { path: '/api/v5/public/instruments' });
    await expect(exchangeFailure(gateway.loadMarkets())).resolves.toMatchObject({ kind: 'transient' });
    await expect(gateway.loadMarkets()).resolves.not.toHaveLength(0);
  });

  it('reports insufficient funds as permanent with the exchange message', async () => {
    const e = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '1', clientOrderId: 'toobig1' }));
    expect(e).toMatchObject({
      kind: 'permanent',
      code: 'insufficient_funds',
      exchangeCode: '51008',
      reason: 'Order failed. Insufficient USDT balance in account.',
    });
    fake.inject('insufficient_funds');
    await expect(
      exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: 'inj1' })),
    ).resolves.toMatchObject({ kind: 'permanent', code: 'insufficient_funds' });
    await expect(gateway.fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
  });

  it('survives a crash between placing and the answer: the order is found by clOrdId, placed once', async () => {
    fake.dropNextOrderResponse();
    const e = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.1', clientOrderId: 'crash1' }));
    expect(e.kind).toBe('transient');
    // What the TradingManager does before any retry: look the order up.
    const found = await gateway.fetchOrder({ clientOrderId: 'crash1', symbol: 'BTC/USDT' });
    expect(found).toMatchObject({ status: 'closed', filled: '0.1', side: 'sell', fee: '7.33848', feeCurrency: 'USDT' });
    expect(fake.count('POST', ORDER_PATH)).toBe(1);
  });

  it('times out a slow exchange as transient', async () => {
    const slow = gatewayFor(account, false, { timeoutMs: 300 });
    await slow.loadMarkets();
    fake.latencyMs = 1_000;
    await expect(exchangeFailure(slow.fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'timeout' });
  });

  it('refuses an order below the minimum size before sending it', async () => {
    const e = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.000001', clientOrderId: 'dust1' }));
    expect(e).toMatchObject({ kind: 'permanent', code: 'invalid_amount' });
    const bad = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'not-alnum!' }));
    expect(bad.code).toBe('invalid_order');
    expect(fake.count('POST', ORDER_PATH)).toBe(0);
  });

  describe('calls per order, OKX limits and deadlines', () => {
    const ORDER_GETS = (a: FakeAccount) => fake.requests.filter((r) => r.method === 'GET' && r.path === ORDER_PATH && r.headers['ok-access-key'] === a.apiKey);

    it('a market order is two calls: the placement (with expTime) and the read-back of its fill; markets are loaded once per endpoint', async () => {
      const endpoint = new OkxEndpoint({ apiUrl: fake.url });
      const a = fake.addAccount();
      const b = fake.addAccount();
      await new LiveExchangeGateway(endpoint, credentialsOf(a)).createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'calls1' });
      fake.requests.length = 0;
      const sentAt = Date.now();
      const order = await new LiveExchangeGateway(endpoint, credentialsOf(b)).createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'calls2' });
      expect(order).toMatchObject({ status: 'closed', filled: '0.001' });
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${ORDER_PATH}`, `GET ${ORDER_PATH}`]);
      // expTime = when it left + the client's timeout: OKX drops it if it arrives after we stopped waiting.
      const expTime = Number(fake.requests[0].headers.exptime);
      expect(expTime).toBeGreaterThanOrEqual(sentAt + 10_000);
      expect(expTime).toBeLessThanOrEqual(Date.now() + 10_000);
    });

    it('a ticker read serves every account of the endpoint for a second', async () => {
      const endpoint = new OkxEndpoint({ apiUrl: fake.url });
      const tickers = await Promise.all([1, 2, 3].map(() => new LiveExchangeGateway(endpoint, credentialsOf(fake.addAccount())).fetchTicker('ETH/USDT')));
      expect(tickers.every((t) => t.last === '2994.5')).toBe(true);
      expect(fake.count('GET', '/api/v5/market/ticker')).toBe(1);
      // A failed read is not kept: the next caller asks again.
      fake.inject('server_error', { path: '/api/v5/market/ticker' });
      await expect(exchangeFailure(new LiveExchangeGateway(endpoint, credentialsOf(account)).fetchTicker('SOL/USDT'))).resolves.toMatchObject({ kind: 'transient' });
      await expect(new LiveExchangeGateway(endpoint, credentialsOf(account)).fetchTicker('SOL/USDT')).resolves.toMatchObject({ last: '142.37' });
    });

    it('40 accounts’ calls in flight at once share one ccxt instance (lent only while it signs), each call signed with its own keys', async () => {
      const endpoint = new OkxEndpoint({ apiUrl: fake.url }, inProcessRunners(4));
      const accounts = Array.from({ length: 40 }, () => fake.addAccount());
      const orders = await Promise.all(
        accounts.map((a, i) => new LiveExchangeGateway(endpoint, credentialsOf(a)).createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: `pool${i}` })),
      );
      expect(orders.every((o) => o.status === 'closed')).toBe(true);
      // The fake checks every signature against the account's own secret: each order is on its own account.
      expect(accounts.every((a, i) => [...a.orders.values()].map((o) => o.clOrdId).join() === `pool${i}`)).toBe(true);
      expect((endpoint.runner as OkxClientPool).instances).toBe(1);
    });

    it('keeps under OKX’s 60 placements per 2 s per account and instrument itself: 65 orders at once, none refused', async () => {
      const endpoint = new OkxEndpoint({ apiUrl: fake.url });
      const g = new LiveExchangeGateway(endpoint, credentialsOf(account));
      const orders = await Promise.all(
        Array.from({ length: 65 }, (_, i) => g.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: `burst${i}` })),
      );
      expect(orders.filter((o) => o.status === 'closed')).toHaveLength(65);
      expect(fake.rateLimited).toBe(0);
      expect(account.orders.size).toBe(65);
      expect(ORDER_GETS(account)).toHaveLength(65);
    });

    it('the fake enforces the limit as OKX does: another process filled the window, so OKX answers 50011 → transient rate_limited, nothing placed', async () => {
      fake.placementLimit = { limit: 2, windowMs: 60_000 };
      try {
        // Two placements by "another worker" (its own endpoint, so its own in-process windows)…
        const other = new LiveExchangeGateway(new OkxEndpoint({ apiUrl: fake.url }), credentialsOf(account));
        for (const id of ['other1', 'other2']) await other.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: id });
        // …then ours reaches OKX: refused for the rate, retried later by the executor, never a rejection.
        const e = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: 'ours1' }));
        expect(e).toMatchObject({ kind: 'transient', code: 'rate_limited', exchangeCode: '50011' });
        expect([...account.orders.values()].map((o) => o.clOrdId)).toEqual(['other1', 'other2']);
        // Another instrument of the same account is a separate limit.
        await expect(gateway.createOrder({ symbol: 'ETH/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'ours2' })).resolves.toMatchObject({ status: 'closed' });
      } finally {
        fake.placementLimit = { limit: 60, windowMs: 2_000 };
      }
    });

    it('an order held up past its expTime is refused by OKX: order_expired, permanent, known not placed', async () => {
      // The order leaves now; the network holds it until after its deadline (the fake's clock runs ahead).
      fake.clockOffsetMs = 60_000;
      const e = await exchangeFailure(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'late1' }));
      expect(e).toMatchObject({ kind: 'permanent', code: 'order_expired', exchangeCode: '50036' });
      expect(e.reason).toMatch(/after its deadline .* did not place it/);
      expect(account.orders.size).toBe(0);
      fake.clockOffsetMs = 0;
      await expect(gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'late1' })).resolves.toMatchObject({ status: 'closed' });
    });
  });
});
