import { dataSourceOptions } from '@torgovo/core';
import { ExchangeError, PaperExchangeGateway } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser, exchangeFailure } from './support';

describe('PaperExchangeGateway on PostgreSQL', () => {
  let db: TestDatabase;
  // A wider pool than the harness's, so concurrent orders really contend for the row locks.
  let ds: DataSource;

  const paperFor = async (options?: ConstructorParameters<typeof PaperExchangeGateway>[2]) =>
    new PaperExchangeGateway(ds, await createUser(ds), options);

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource({ ...dataSourceOptions(db.url, 20, 'torgovo-paper-test'), entities: [] }).initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('starts a new account with 10000 USDT, seeded once even under concurrent first use', async () => {
    const paper = await paperFor();
    const balances = await Promise.all(Array.from({ length: 20 }, () => paper.fetchBalance()));
    for (const b of balances) expect(b).toEqual({ USDT: { free: '10000', used: '0', total: '10000' } });
    const rows: Array<{ n: string }> = await ds.query(`SELECT count(*) AS n FROM paper_balances WHERE user_id = $1`, [paper.userId]);
    expect(rows[0].n).toBe('1');
  });

  it('fills a market buy at the given price with 0.1 % fee in the base currency', async () => {
    const paper = await paperFor();
    const order = await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.1', price: '50000', clientOrderId: 'buy1' });
    expect(order).toMatchObject({
      clientOrderId: 'buy1',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      status: 'closed',
      amount: '0.1',
      price: null,
      filled: '0.1',
      average: '50000',
      cost: '5000',
      fee: '0.0001',
      feeCurrency: 'BTC',
    });
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.0999', used: '0', total: '0.0999' },
      USDT: { free: '5000', used: '0', total: '5000' },
    });

    const sell = await paper.createOrder({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.05', price: '60000', clientOrderId: 'sell1' });
    expect(sell).toMatchObject({ status: 'closed', cost: '3000', fee: '3', feeCurrency: 'USDT' });
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.0499', used: '0', total: '0.0499' },
      USDT: { free: '7997', used: '0', total: '7997' },
    });
    await expect(paper.fetchTicker('BTC/USDT')).resolves.toEqual({ symbol: 'BTC/USDT', last: '60000', bid: null, ask: null });
  });

  it('rounds the amount down to the step, and the price to the tick never past the one given (a buy down, a sell up), before filling', async () => {
    const paper = await paperFor();
    const order = await paper.createOrder({ symbol: 'ETH/USDT', side: 'buy', type: 'market', amount: '0.1234567', price: '3000.005', clientOrderId: 'r1' });
    expect(order).toMatchObject({ amount: '0.123456', average: '3000', cost: '370.368' });
    const sell = await paper.createOrder({ symbol: 'ETH/USDT', side: 'sell', type: 'market', amount: '0.1', price: '3000.005', clientOrderId: 'r2' });
    expect(sell).toMatchObject({ amount: '0.1', average: '3000.01', cost: '300.001' });
  });

  it('fills a market buy sized by cost at the given price: what it buys, cut to the lot size', async () => {
    const paper = await paperFor();
    const order = await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', cost: '100', price: '30000', clientOrderId: 'cost1' });
    expect(order).toMatchObject({ status: 'closed', amount: '0.00333333', filled: '0.00333333', average: '30000', cost: '99.9999', requestedCost: null });
    await expect(paper.fetchBalance()).resolves.toMatchObject({ USDT: { free: '9900.0001' } });
    const base = { symbol: 'BTC/USDT', price: '30000', clientOrderId: 'cost2' } as const;
    await expect(exchangeFailure(paper.createOrder({ ...base, side: 'sell', type: 'market', cost: '100' }))).resolves.toMatchObject({ code: 'invalid_order' });
    await expect(exchangeFailure(paper.createOrder({ ...base, side: 'buy', type: 'market', cost: '0.5' }))).resolves.toMatchObject({ code: 'below_min_notional' });
  });

  it('refuses an order beyond the balance and changes nothing', async () => {
    const paper = await paperFor();
    const e = await exchangeFailure(
      paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '1', price: '50000', clientOrderId: 'big1' }),
    );
    expect(e).toMatchObject({ kind: 'permanent', code: 'insufficient_funds' });
    expect(e.reason).toBe('insufficient USDT balance: 10000 available, 50000 required');
    await expect(paper.fetchOrder({ clientOrderId: 'big1', symbol: 'BTC/USDT' })).resolves.toBeNull();
    await expect(paper.fetchBalance()).resolves.toEqual({ USDT: { free: '10000', used: '0', total: '10000' } });
    await expect(
      exchangeFailure(paper.createOrder({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.1', price: '50000', clientOrderId: 'nobtc' })),
    ).resolves.toMatchObject({ code: 'insufficient_funds' });
  });

  it('returns the existing order for a repeated client order id', async () => {
    const paper = await paperFor();
    const first = await paper.createOrder({ symbol: 'SOL/USDT', side: 'buy', type: 'market', amount: '1', price: '100', clientOrderId: 'same1' });
    const again = await paper.createOrder({ symbol: 'SOL/USDT', side: 'buy', type: 'market', amount: '5', price: '120', clientOrderId: 'same1' });
    expect(again).toEqual(first);
    const racing = await Promise.all(
      Array.from({ length: 10 }, () =>
        paper.createOrder({ symbol: 'SOL/USDT', side: 'buy', type: 'market', amount: '2', price: '100', clientOrderId: 'same2' }),
      ),
    );
    expect(new Set(racing.map((o) => o.exchangeOrderId)).size).toBe(1);
    // 100 + 200 (+ fees in SOL): each client order id charged once.
    await expect(paper.fetchBalance()).resolves.toMatchObject({ USDT: { free: '9700' }, SOL: { free: '2.997' } });
  });

  it('never overdraws with 50 concurrent orders', async () => {
    const paper = await paperFor();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.02', price: '50000', clientOrderId: `c${i}` }),
      ),
    );
    const filled = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Each costs 1000 USDT: exactly ten fit into 10000.
    expect(filled).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'insufficient_funds' } satisfies Partial<ExchangeError>);
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.1998', used: '0', total: '0.1998' },
      USDT: { free: '0', used: '0', total: '0' },
    });
    const rows: Array<{ n: string }> = await ds.query(`SELECT count(*) AS n FROM paper_orders WHERE user_id = $1`, [paper.userId]);
    expect(rows[0].n).toBe('10');
  });

  it('keeps a limit order open with its funds reserved until cancelled', async () => {
    const paper = await paperFor();
    const open = await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.05', price: '40000', clientOrderId: 'lim1' });
    expect(open).toMatchObject({ status: 'open', price: '40000', filled: '0', average: null, cost: '0', fee: '0' });
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0', used: '0', total: '0' },
      USDT: { free: '8000', used: '2000', total: '10000' },
    });
    // The reservation counts against later orders.
    await expect(
      exchangeFailure(paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.2', price: '45000', clientOrderId: 'over1' })),
    ).resolves.toMatchObject({ code: 'insufficient_funds' });

    const canceled = await paper.cancelOrder({ id: open.exchangeOrderId, symbol: 'BTC/USDT' });
    expect(canceled).toMatchObject({ exchangeOrderId: open.exchangeOrderId, status: 'canceled' });
    await expect(paper.fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000', used: '0', total: '10000' } });
    // Cancelling twice releases nothing more.
    await expect(paper.cancelOrder({ clientOrderId: 'lim1', symbol: 'BTC/USDT' })).resolves.toMatchObject({ status: 'canceled' });
    await expect(paper.fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000', used: '0' } });
  });

  it('fills limits against observed prices: a marketable one at once, resting ones when a later fill crosses them, at their limit', async () => {
    const paper = await paperFor();
    const order = (clientOrderId: string, side: 'buy' | 'sell', type: 'market' | 'limit', amount: string, price: string) =>
      paper.createOrder({ symbol: 'BTC/USDT', side, type, amount, price, clientOrderId });
    await order('m1', 'buy', 'market', '0.1', '50000'); // observed 50000
    const restingBuy = await order('lb1', 'buy', 'limit', '0.05', '49000'); // below: rests
    const restingSell = await order('ls1', 'sell', 'limit', '0.05', '52000'); // above: rests
    expect([restingBuy.status, restingSell.status]).toEqual(['open', 'open']);
    const marketable = await order('lb2', 'buy', 'limit', '0.01', '50500'); // at/above the last price: fills now
    expect(marketable).toMatchObject({ status: 'closed', filled: '0.01', average: '50500', cost: '505' });

    await order('m2', 'sell', 'market', '0.01', '48500'); // trades through the 49000 buy
    expect(await paper.fetchOrder({ clientOrderId: 'lb1', symbol: 'BTC/USDT' })).toMatchObject({ status: 'closed', filled: '0.05', average: '49000', cost: '2450', fee: '0.00005', feeCurrency: 'BTC' });
    expect(await paper.fetchOrder({ clientOrderId: 'ls1', symbol: 'BTC/USDT' })).toMatchObject({ status: 'open' });

    await order('m3', 'buy', 'market', '0.001', '52500'); // trades through the 52000 sell
    expect(await paper.fetchOrder({ clientOrderId: 'ls1', symbol: 'BTC/USDT' })).toMatchObject({ status: 'closed', average: '52000', cost: '2600', fee: '2.6', feeCurrency: 'USDT' });
    await expect(paper.fetchTicker('BTC/USDT')).resolves.toMatchObject({ last: '52500' });
    // Nothing stays reserved, and every unit is accounted for (fees: 0.1 % of each fill).
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.100839', used: '0', total: '0.100839' },
      USDT: { free: '5074.415', used: '0', total: '5074.415' },
    });
  });

  it('refuses to cancel a filled or unknown order', async () => {
    const paper = await paperFor();
    const filled = await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', price: '50000', clientOrderId: 'f1' });
    await expect(exchangeFailure(paper.cancelOrder({ id: filled.exchangeOrderId, symbol: 'BTC/USDT' }))).resolves.toMatchObject({
      kind: 'permanent',
      code: 'order_not_open',
    });
    await expect(exchangeFailure(paper.cancelOrder({ clientOrderId: 'ghost', symbol: 'BTC/USDT' }))).resolves.toMatchObject({
      code: 'order_not_found',
    });
  });

  it('finds orders by id or client id, only for their owner and symbol', async () => {
    const paper = await paperFor();
    const other = await paperFor();
    const order = await paper.createOrder({ symbol: 'XRP/USDT', side: 'buy', type: 'market', amount: '10', price: '0.5', clientOrderId: 'x1' });
    await expect(paper.fetchOrder({ id: order.exchangeOrderId, symbol: 'XRP/USDT' })).resolves.toEqual(order);
    await expect(paper.fetchOrder({ clientOrderId: 'x1', symbol: 'XRP/USDT' })).resolves.toEqual(order);
    await expect(paper.fetchOrder({ clientOrderId: 'x1', symbol: 'BTC/USDT' })).resolves.toBeNull();
    await expect(paper.fetchOrder({ id: 'not-a-uuid', symbol: 'XRP/USDT' })).resolves.toBeNull();
    await expect(other.fetchOrder({ id: order.exchangeOrderId, symbol: 'XRP/USDT' })).resolves.toBeNull();
  });

  it('refuses what the rules refuse', async () => {
    const paper = await paperFor();
    const base = { side: 'buy' as const, type: 'market' as const, clientOrderId: 'rule1' };
    await expect(exchangeFailure(paper.createOrder({ ...base, symbol: 'FOO/USDT', amount: '1', price: '1' }))).resolves.toMatchObject({ code: 'bad_symbol' });
    await expect(exchangeFailure(paper.createOrder({ ...base, symbol: 'BTC/USDT', amount: '0.001' }))).resolves.toMatchObject({ code: 'invalid_order' });
    await expect(exchangeFailure(paper.createOrder({ ...base, symbol: 'DOGE/USDT', amount: '10', price: '0.05' }))).resolves.toMatchObject({
      code: 'below_min_notional',
    });
    await expect(exchangeFailure(paper.createOrder({ ...base, symbol: 'BTC/USDT', amount: '0.000001', price: '50000' }))).resolves.toMatchObject({
      code: 'invalid_amount',
    });
    await expect(exchangeFailure(paper.fetchTicker('ETH/USDT'))).resolves.toMatchObject({ kind: 'permanent', code: 'no_price' });
    await expect(exchangeFailure(paper.fetchDeposits())).resolves.toMatchObject({ code: 'not_supported' });
    await expect(exchangeFailure(paper.fetchDepositAddress('USDT'))).resolves.toMatchObject({ code: 'not_supported' });
    await expect(paper.fetchBalance()).resolves.toEqual({ USDT: { free: '10000', used: '0', total: '10000' } });
  });

  it('takes its starting balance and fee from options', async () => {
    const paper = await paperFor({ initialBalances: { USDT: '500', BTC: '0.01' }, takerFeeRate: '0' });
    await paper.createOrder({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.01', price: '30000', clientOrderId: 'o1' });
    await expect(paper.fetchBalance()).resolves.toEqual({
      BTC: { free: '0', used: '0', total: '0' },
      USDT: { free: '800', used: '0', total: '800' },
    });
  });
});
