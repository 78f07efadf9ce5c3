import { ExecutionResult, LiveExchangeGateway, OkxEndpoint } from '@torgovo/trading';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser, credentialsOf } from '../trading/support';
import { bootWorker, connectExchange, dueNow, ORDER_PATH, pendingOrder, reload, TestWorker } from './support';

// The executor with OKX's own limits and deadlines (issue 16): each case is "the worker decides to
// send, then something changes on OKX's side, then the placement arrives".
describe('live orders under OKX rate limits, deadlines and network failures', () => {
  let db: TestDatabase;
  let fake: FakeOkxServer;
  let w1: TestWorker;

  const placed = (a: FakeAccount, clOrdId: string) => [...a.orders.values()].filter((o) => o.clOrdId === clOrdId);
  const posts = (clOrdId: string) => fake.requests.filter((r) => r.method === 'POST' && r.path === ORDER_PATH && r.body.includes(clOrdId)).length;

  /** One round of the worker, and what it did with `orderId` (other tests' retries may be due too). */
  async function runFor(orderId: string): Promise<ExecutionResult | undefined> {
    return (await w1.manager.runOnce()).find((r) => r.orderId === orderId);
  }

  async function trader(): Promise<{ userId: string; account: FakeAccount }> {
    const userId = await createUser(w1.ds);
    const account = fake.addAccount({ balances: { USDT: '100000' } });
    await connectExchange(w1, userId, account);
    return { userId, account };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await new FakeOkxServer().start();
    w1 = await bootWorker(db, { OKX_API_URL: fake.url, TRADING_MAX_ATTEMPTS: '4', TRADING_CONCURRENCY: '8' });
  });
  afterAll(async () => {
    await w1?.close();
    await fake?.stop();
    await db?.drop();
  });
  afterEach(() => {
    fake.clearFaults();
    fake.placementLimit = { limit: 60, windowMs: 2_000 };
  });

  it('OKX answers 50011 because another process filled the account’s window: the order is retried with backoff, never rejected, and placed once', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    // Between the signal and the placement, another client of the same account (not this worker's
    // in-process windows) uses up OKX's allowance for BTC-USDT.
    fake.placementLimit = { limit: 1, windowMs: 60_000 };
    await new LiveExchangeGateway(new OkxEndpoint({ apiUrl: fake.url }), credentialsOf(account)).createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.0001',
      clientOrderId: 'elsewhere1',
    });

    const first = await runFor(order.id);
    expect(first).toMatchObject({ orderId: order.id, status: 'retry', reason: expect.stringMatching(/^rate_limited: /) });
    expect(await reload(w1.ds, order.id)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(placed(account, order.client_order_id)).toHaveLength(0);

    // The window has passed: the retry looks the order up (absent), then places it.
    fake.placementLimit = { limit: 60, windowMs: 2_000 };
    await dueNow(w1.ds, order.id);
    const second = await runFor(order.id);
    expect(second).toMatchObject({ orderId: order.id, status: 'filled' });
    expect(placed(account, order.client_order_id)).toHaveLength(1);
    expect(posts(order.client_order_id)).toBe(2);
  });

  it('a placement held up past its expTime is refused by OKX: rejected with a clear reason, nothing placed, never retried', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    // The worker decides and sends; the request reaches OKX after its deadline (the fake's clock runs ahead).
    fake.clockOffsetMs = 60_000;
    const result = await runFor(order.id);
    expect(result).toMatchObject({ orderId: order.id, status: 'rejected' });
    const row = await reload(w1.ds, order.id);
    expect(row.status).toBe('rejected');
    expect(row.reason).toMatch(/OKX received the order after its deadline .* did not place it/);
    expect(placed(account, order.client_order_id)).toHaveLength(0);
    expect(posts(order.client_order_id)).toBe(1);
  });

  it('a server error on placement leaves a reason a trader can read, without our URL', async () => {
    const { userId } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    fake.inject('server_error', { path: ORDER_PATH, status: 503 });
    const result = await runFor(order.id);
    expect(result).toMatchObject({ orderId: order.id, status: 'retry' });
    const row = await reload(w1.ds, order.id);
    expect(row.reason).toBe('exchange_unavailable: OKX is temporarily unavailable (it answered with a server error)');
    expect(row.reason).not.toMatch(/https?:|127\.0\.0\.1|<html/);
  });

  it('a connection cut after placing: the reason names no URL, and the retry finds the order instead of placing it again', async () => {
    const { userId, account } = await trader();
    const order = await pendingOrder(w1, { user_id: userId });
    // Only this order's answer is cut: the 503 case's order may come due in the same round.
    fake.dropNextOrderResponse(order.client_order_id);
    const first = await runFor(order.id);
    expect(first).toMatchObject({ status: 'retry', reason: 'network_error: OKX could not be reached (network error); the order is looked up before any retry' });
    expect((await reload(w1.ds, order.id)).reason).not.toMatch(/https?:|127\.0\.0\.1/);
    await dueNow(w1.ds, order.id);
    const second = await runFor(order.id);
    expect(second).toMatchObject({ status: 'filled', reconciled: true });
    expect(placed(account, order.client_order_id)).toHaveLength(1);
  });
});
