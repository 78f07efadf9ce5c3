import { randomUUID } from 'node:crypto';
import { NewOrder, OrderResponse, OrdersService } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '../support/app';

type Page = { items: OrderResponse[]; total: number; page: number; limit: number };

const FIELDS = [
  'id', 'bot_id', 'managed_bot_id', 'source', 'exchange', 'symbol', 'side', 'type', 'amount', 'price', 'status', 'filled', 'average',
  'cost', 'fee', 'fee_currency', 'client_order_id', 'exchange_order_id', 'reason', 'created_at', 'closed_at', 'timeline',
];

describe('Orders API', () => {
  let t: TestApp;
  let alice: { id: string; access_token: string };
  let bob: { id: string; access_token: string };
  let botA: string;
  let botB: string;
  const ids: Record<string, string> = {};

  async function order(userId: string, name: string, input: Partial<NewOrder> = {}): Promise<void> {
    const { order: o } = await t.app.get(OrdersService).createPending(t.app.get(DataSource).manager, {
      user_id: userId, source: 'webhook', source_ref: `${name}-${randomUUID()}`, mode: 'paper', exchange: 'paper',
      symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0100', price: '65000.50', ...input,
    });
    ids[name] = o.id;
  }

  beforeAll(async () => {
    t = await createTestApp();
    alice = await t.register();
    bob = await t.register();
    // Bot rows only for the orders' bot_id foreign key; the bots lib owns them.
    const bot = async (userId: string): Promise<string> =>
      ((await t.db.dataSource.query(
        `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value)
         VALUES ($1, 'b', 'BTC/USDT', 'paper', 'paper', 'market', 'base', 1) RETURNING id`,
        [userId],
      )) as Array<{ id: string }>)[0].id;
    [botA, botB] = [await bot(alice.id), await bot(alice.id)];
    const bobsBot = await bot(bob.id);
    // One commit each, so created_at orders them: a1 oldest … a5 newest.
    await order(alice.id, 'a1', { bot_id: botA });
    await order(alice.id, 'a2', { bot_id: botA, symbol: 'ETH/USDT', side: 'sell', amount: '1.5' });
    await order(alice.id, 'a3', { bot_id: botB, amount: null, quote_amount: '250.00' });
    await order(alice.id, 'a4', { bot_id: botA, symbol: 'ETH/USDT', type: 'limit', price: '2400' });
    await order(alice.id, 'a5', { source: 'manual', bot_id: null });
    await order(bob.id, 'b1', { bot_id: bobsBot });
    await t.db.dataSource.query(
      `UPDATE orders SET status = 'filled', filled = 0.0100, average = 65000.5, cost = 650.005, fee = 0.00001000, fee_currency = 'BTC',
              exchange_order_id = 'ex-1', closed_at = now() WHERE id = $1`,
      [ids.a1],
    );
    await t.db.dataSource.query(`UPDATE orders SET status = 'rejected', reason = 'insufficient balance', closed_at = now() WHERE id = $1`, [ids.a2]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const list = (query = '', token = alice.access_token) => t.request<Page>('GET', `/api/orders${query}`, { token });

  it("lists only the caller's orders, newest first, paginated", async () => {
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 5, page: 1, limit: 50 });
    expect(res.body.items.map((o) => o.id)).toEqual([ids.a5, ids.a4, ids.a3, ids.a2, ids.a1]);
    const bobs = await list('', bob.access_token);
    expect(bobs.body.items.map((o) => o.id)).toEqual([ids.b1]);

    const second = await list('?page=2&limit=2');
    expect(second.body).toMatchObject({ total: 5, page: 2, limit: 2 });
    expect(second.body.items.map((o) => o.id)).toEqual([ids.a3, ids.a2]);
    expect((await list('?page=3&limit=2')).body.items.map((o) => o.id)).toEqual([ids.a1]);
  });

  it('filters by bot_id, status and symbol (every form a bot accepts: unified, dashed, compact, exchange-prefixed)', async () => {
    expect((await list(`?bot_id=${botA}`)).body.items.map((o) => o.id)).toEqual([ids.a4, ids.a2, ids.a1]);
    expect((await list('?status=filled')).body.items.map((o) => o.id)).toEqual([ids.a1]);
    expect((await list('?status=pending')).body.total).toBe(3);
    expect((await list(`?symbol=${encodeURIComponent('ETH/USDT')}`)).body.items.map((o) => o.id)).toEqual([ids.a4, ids.a2]);
    expect((await list(`?symbol=eth-usdt&bot_id=${botA}&status=rejected`)).body.items.map((o) => o.id)).toEqual([ids.a2]);
    for (const form of ['ETHUSDT', 'ethusdt', 'OKX:ETHUSDT', 'OKX:ETH-USDT', 'ETH_USDT']) {
      expect((await list(`?symbol=${encodeURIComponent(form)}`)).body.items.map((o) => o.id)).toEqual([ids.a4, ids.a2]);
    }
    expect((await list('?symbol=BTCUSDT')).body.items.map((o) => o.id)).not.toContain(ids.a2);
    expect((await list(`?bot_id=${botB}&status=filled`)).body).toMatchObject({ items: [], total: 0 });
  });

  it("answers one order in API.md's shape: decimal strings without trailing zeros, ISO times", async () => {
    const res = await t.request<OrderResponse>('GET', `/api/orders/${ids.a1}`, { token: alice.access_token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(expect.arrayContaining(FIELDS));
    expect(Object.keys(res.body).filter((k) => !FIELDS.includes(k)).sort()).toEqual(['cancel_requested_at', 'mode', 'position_percent', 'quote_amount', 'quote_percent', 'target_position']);
    expect(res.body).toMatchObject({
      id: ids.a1, bot_id: botA, managed_bot_id: null, source: 'webhook', mode: 'paper', exchange: 'paper', symbol: 'BTC/USDT',
      side: 'buy', type: 'market', amount: '0.01', quote_amount: null, quote_percent: null, price: '65000.5', status: 'filled', filled: '0.01',
      average: '65000.5', cost: '650.005', fee: '0.00001', fee_currency: 'BTC', exchange_order_id: 'ex-1', reason: null,
    });
    expect(res.body.client_order_id).toMatch(/^t[0-9a-f]{31}$/);
    expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
    expect(res.body.closed_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);

    const quoteSized = await t.request<OrderResponse>('GET', `/api/orders/${ids.a3}`, { token: alice.access_token });
    expect(quoteSized.body).toMatchObject({ amount: null, quote_amount: '250', status: 'pending', filled: '0', average: null, closed_at: null });
    const rejected = await t.request<OrderResponse>('GET', `/api/orders/${ids.a2}`, { token: alice.access_token });
    expect(rejected.body).toMatchObject({ status: 'rejected', reason: 'insufficient balance', side: 'sell', amount: '1.5' });
  });

  it("is 404 for another user's order or an unknown id, 400 for a malformed id", async () => {
    const other = await t.request('GET', `/api/orders/${ids.b1}`, { token: alice.access_token });
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain(bob.id);
    expect(other.body).toMatchObject({ statusCode: 404, message: 'Order not found' });
    expect((await t.request('GET', `/api/orders/${randomUUID()}`, { token: alice.access_token })).status).toBe(404);
    expect((await t.request('GET', '/api/orders/not-a-uuid', { token: alice.access_token })).status).toBe(400);
  });

  it('an order has one sizing: amount, quote_amount, or quote_percent (with the quote_amount it resolved to)', async () => {
    const carol = await t.register();
    await order(carol.id, 'c1', { mode: 'live', exchange: 'okx', amount: null, quote_percent: '50', price: null });
    const get = async () => (await t.request<OrderResponse>('GET', `/api/orders/${ids.c1}`, { token: carol.access_token })).body;
    expect(await get()).toMatchObject({ mode: 'live', amount: null, quote_amount: null, quote_percent: '50', status: 'pending' });
    await t.db.dataSource.query(`UPDATE orders SET quote_amount = 123.45 WHERE id = $1`, [ids.c1]);
    expect(await get()).toMatchObject({ amount: null, quote_amount: '123.45', quote_percent: '50' });

    const refused = async (input: Partial<NewOrder>): Promise<string> => {
      try {
        await order(carol.id, 'bad', input);
      } catch (e) {
        return (e as { constraint?: string }).constraint ?? String(e);
      }
      return 'inserted';
    };
    expect(await refused({ quote_percent: '50' })).toBe('orders_one_sizing'); // with an amount
    expect(await refused({ amount: null, quote_amount: '10', quote_percent: null, side: 'buy' })).toBe('inserted');
    expect(await refused({ amount: null, quote_amount: null })).toBe('orders_one_sizing');
    expect(await refused({ amount: null, quote_percent: '50', side: 'sell' })).toBe('orders_one_sizing');
    expect(await refused({ amount: null, quote_percent: '0' })).toBe('orders_quote_percent_check');
    expect(await refused({ amount: null, quote_percent: '100.000000000000000001' })).toBe('orders_quote_percent_check');
    expect(await refused({ amount: null, quote_percent: '100' })).toBe('inserted');
  });

  it('refuses anonymous callers and bad queries', async () => {
    expect((await t.request('GET', '/api/orders')).status).toBe(401);
    expect((await t.request('GET', `/api/orders/${ids.a1}`)).status).toBe(401);
    for (const q of ['?limit=201', '?page=0', '?status=done', '?bot_id=nope', '?symbol=BTC%2FUSDT%2FX', '?symbol=%24%24', '?user_id=' + bob.id]) {
      const res = await list(q);
      expect([q, res.status]).toEqual([q, 400]);
      expect(res.body).toMatchObject({ statusCode: 400, details: expect.any(Array) });
    }
  });
});
