import { createCryptoHarness, CryptoHarness } from './crypto-support';

/** CoinGate: the order is created at a fake CoinGate; callbacks are believed only after the order is fetched back. */
describe('Crypto payments: CoinGate', () => {
  let h: CryptoHarness;

  beforeAll(async () => {
    h = await createCryptoHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const callback = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    h.t.request<{ outcome?: string }>('POST', '/api/payments/crypto/callback', { raw: body, headers: { 'content-type': contentType } });
  const paymentOf = (id: string) => h.one<{ status: string; received_amount: string | null; failure_reason: string | null }>(
    'SELECT status, received_amount::text, failure_reason FROM payments WHERE id = $1', [id]);
  const subOf = (id: string) => h.one<{ status: string }>('SELECT status FROM user_subscriptions WHERE id = $1', [id]);

  async function checkout(planCode = 'enterprise') {
    const u = await h.t.register();
    const res = await h.t.request<{ payment_id: string; payment_url: string; subscription_id: string }>('POST', '/api/payments/crypto/coingate', {
      token: u.access_token,
      body: { plan_id: h.plans[planCode] },
    });
    expect(res.status).toBe(201);
    const order = h.coingate.byOrderId(res.body.payment_id)!;
    return { u, res, order };
  }

  it('creates a CoinGate order for the plan price in USD with the callback, return URLs and a per-payment token', async () => {
    const { res, order } = await checkout();
    expect(res.body.payment_url).toBe(order.payment_url);
    expect(order).toMatchObject({
      price_amount: '99.00',
      price_currency: 'USD',
      callback_url: 'https://api.torgovo.test/api/payments/crypto/callback',
      success_url: expect.stringContaining(res.body.payment_id),
      cancel_url: expect.stringContaining(res.body.payment_id),
    });
    expect(order.token.length).toBeGreaterThanOrEqual(43);
    expect(h.coingate.requests.at(-1)?.authorization).toBe(`Token ${h.coingate.apiToken}`);
    // The token is stored only as a hash.
    const stored = await h.one<{ callback_token_hash: string }>('SELECT callback_token_hash FROM payments WHERE id = $1', [res.body.payment_id]);
    expect(stored.callback_token_hash).not.toContain(order.token);
    expect(await subOf(res.body.subscription_id)).toEqual({ status: 'pending_payment' });
  });

  it('a forged callback changes nothing: wrong token, or "paid" while CoinGate says the order is not paid', async () => {
    const { res, order } = await checkout();
    h.coingate.setStatus(order.id, 'paid', { amount: '0.00134', currency: 'BTC' });
    const wrongToken = await callback(h.coingate.callbackForm(order, { token: 'forged-token' }));
    expect(wrongToken.status).toBe(400);
    expect(await paymentOf(res.body.payment_id)).toMatchObject({ status: 'pending' });
    // No order lookup was even made for it.
    const gets = h.coingate.requests.filter((r) => r.method === 'GET').length;
    expect(gets).toBe(0);

    const { res: res2, order: order2 } = await checkout();
    // The payer claims "paid" with the right token, but CoinGate has it as new.
    const claimed = await callback(h.coingate.callbackForm({ ...order2, status: 'paid', pay_amount: '99', pay_currency: 'USDT' }));
    expect(claimed.status).toBe(200);
    expect(claimed.body).toEqual({ outcome: 'unchanged' });
    expect(await paymentOf(res2.body.payment_id)).toMatchObject({ status: 'pending' });
    expect(await subOf(res2.body.subscription_id)).toEqual({ status: 'pending_payment' });

    // Unknown payment id or garbage body: 400, nothing written.
    expect((await callback('order_id=not-a-uuid&token=x')).status).toBe(400);
    expect((await callback('{"order_id": 1', 'application/json')).status).toBe(400);
  });

  it('paid at CoinGate → completed and active; repeated callbacks (form or JSON) change nothing', async () => {
    const { res, order } = await checkout();
    h.coingate.setStatus(order.id, 'paid', { amount: '0.00134', currency: 'BTC' });
    const first = await callback(h.coingate.callbackForm(order));
    expect(first.body).toEqual({ outcome: 'completed' });
    expect(await paymentOf(res.body.payment_id)).toMatchObject({ status: 'completed', received_amount: '0.001340000000000000' });
    expect(await subOf(res.body.subscription_id)).toEqual({ status: 'active' });

    const again = await callback(h.coingate.callbackForm(order));
    expect(again.body).toEqual({ outcome: 'unchanged' });
    const json = await callback(JSON.stringify(Object.fromEntries(new URLSearchParams(h.coingate.callbackForm(order)))), 'application/json');
    expect(json.body).toEqual({ outcome: 'unchanged' });
    // A late "expired" from CoinGate cannot undo a paid payment either.
    h.coingate.setStatus(order.id, 'expired');
    expect((await callback(h.coingate.callbackForm(order))).body).toEqual({ outcome: 'unchanged' });
    expect(await paymentOf(res.body.payment_id)).toMatchObject({ status: 'completed' });
    expect(await h.one(`SELECT count(*)::int AS n FROM subscription_periods WHERE payment_reference = $1`, [res.body.payment_id])).toEqual({ n: 1 });
    expect(await h.one(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'payment_id' = $1`, [res.body.payment_id])).toEqual({ n: 1 });
  });

  it('invalid, expired or canceled at CoinGate → the payment fails (or expires) and the user is told', async () => {
    const { res, order } = await checkout('managed_basic');
    h.coingate.setStatus(order.id, 'invalid');
    expect((await callback(h.coingate.callbackForm(order))).body).toEqual({ outcome: 'failed' });
    expect(await paymentOf(res.body.payment_id)).toMatchObject({ status: 'failed', failure_reason: 'coingate_invalid' });
    expect(await h.one('SELECT kind FROM notification_outbox WHERE dedupe_key = $1', [`payment_failed:${res.body.payment_id}`])).toEqual({ kind: 'payment_failed' });
  });

  it('CoinGate down while checking a callback: 502 (CoinGate retries), nothing changes', async () => {
    const { res, order } = await checkout();
    h.coingate.setStatus(order.id, 'paid', { amount: '99', currency: 'USDT' });
    h.coingate.failNext(1);
    expect((await callback(h.coingate.callbackForm(order))).status).toBe(502);
    expect(await paymentOf(res.body.payment_id)).toMatchObject({ status: 'pending' });
    expect((await callback(h.coingate.callbackForm(order))).body).toEqual({ outcome: 'completed' });
  });

  it('the status endpoint serves CoinGate payments too, to their owner only', async () => {
    const { u, res } = await checkout();
    const mine = await h.t.request('GET', `/api/payments/crypto/status/${res.body.payment_id}`, { token: u.access_token });
    expect(mine.body).toMatchObject({ status: 'pending', confirmed: false, provider: 'coingate', plan: { code: 'enterprise' } });
    const other = await h.t.register();
    expect((await h.t.request('GET', `/api/payments/crypto/status/${res.body.payment_id}`, { token: other.access_token })).status).toBe(404);
  });
});
