import Decimal from 'decimal.js';
import { UnmatchedDepositsService } from '@torgovo/payments';
import { pauseOnce } from '../support/pause-once';
import { createCryptoHarness, CryptoHarness } from './crypto-support';
import { createTestApp } from '../support/app';

/**
 * OKX deposits end to end: the real api, the real ccxt signing requests to a fake OKX that
 * speaks OKX v5 (deposit address, deposit history with states 0/1/2/8, tickers), real PostgreSQL.
 * The PaymentChecker is ticked by hand (its timer is off).
 */
describe('Crypto payments: deposits to the platform OKX account', () => {
  let h: CryptoHarness;

  beforeAll(async () => {
    h = await createCryptoHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const subOf = (id: string) => h.one<{ status: string; end_date: Date | null; payment_method: string }>('SELECT status, end_date, payment_method FROM user_subscriptions WHERE id = $1', [id]);
  const paymentOf = (id: string) =>
    h.one<{ status: string; tx_hash: string | null; received_amount: string | null; provider_payment_id: string | null }>(
      'SELECT status, tx_hash, received_amount::text, provider_payment_id FROM payments WHERE id = $1',
      [id],
    );
  const depositRow = (depId: string) => h.one<{ match_status: string; payment_id: string | null }>('SELECT match_status, payment_id FROM crypto_deposits WHERE dep_id = $1', [depId]);
  const status = (token: string, id: string) => h.t.request<Record<string, unknown>>('GET', `/api/payments/crypto/status/${id}`, { token });

  it('initialize answers the deposit address, a unique amount, the expiry and instructions', async () => {
    const u = await h.t.register();
    const res = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ network: 'TRC20', crypto_currency: 'USDT', amount_usd: '99.00', deposit_tag: null, expires_in_seconds: 7200 });
    expect(res.body.deposit_address).toBe(h.admin.depositAddresses.find((a) => a.chain === 'USDT-TRC20' && a.selected)?.addr);
    // 99 USDT at par plus an offset of 1–999 micro-USDT that names this payment.
    const amount = new Decimal(res.body.crypto_amount);
    expect(amount.gt(99) && amount.lte('99.000999')).toBe(true);
    expect(res.body.instructions).toContain(res.body.crypto_amount);
    expect(await subOf(res.body.subscription_id)).toMatchObject({ status: 'pending_payment', payment_method: 'crypto' });

    // BTC is priced from the ticker (73384.8 USDT on the fake): 99 / 73384.8 rounded up to satoshis, plus the offset.
    const u2 = await h.t.register();
    const btc = await h.initialize(u2.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'BTC' });
    expect(btc.status).toBe(201);
    const base = new Decimal(99).div('73384.8').toDecimalPlaces(8, Decimal.ROUND_UP);
    expect(new Decimal(btc.body.crypto_amount).minus(base).times(1e8).toNumber()).toBeGreaterThanOrEqual(1);
    expect(new Decimal(btc.body.crypto_amount).minus(base).times(1e8).toNumber()).toBeLessThanOrEqual(999);
    expect(btc.body.network).toBe('Bitcoin');
  });

  // Each quote holds one of the address's 999 amounts of the plan: a new quote per call would let
  // one account take them all (503 crypto_amounts_exhausted for everyone else).
  it('asked again for the same pending subscription: the open quote back (one row); another coin 409; a new quote once it expired', async () => {
    const u = await h.t.register();
    const body = { plan_id: h.plans.enterprise, crypto_currency: 'USDT' };
    const first = await h.initialize(u.access_token, body);
    expect(first.status).toBe(201);
    // Again, and twice at once.
    const again = await Promise.all([h.initialize(u.access_token, body), h.initialize(u.access_token, body)]);
    for (const r of again) {
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        payment_id: first.body.payment_id,
        subscription_id: first.body.subscription_id,
        kind: 'subscription',
        crypto_amount: first.body.crypto_amount,
        deposit_address: first.body.deposit_address,
        expires_at: first.body.expires_at,
      });
    }
    const rows = () => h.one<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE user_id = $1`, [u.id]);
    expect(await rows()).toEqual({ n: 1 });
    const btc = await h.initialize(u.access_token, { ...body, crypto_currency: 'BTC' });
    expect(btc.status).toBe(409);
    expect(btc.body).toMatchObject({ code: 'payment_in_progress' });
    expect(await rows()).toEqual({ n: 1 });
    // Once the quote has expired a new one is made (the old one no longer takes a deposit).
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() - interval '1 second' WHERE id = $1`, [first.body.payment_id]);
    const next = await h.initialize(u.access_token, { ...body, crypto_currency: 'BTC' });
    expect(next.status).toBe(201);
    expect(next.body.payment_id).not.toBe(first.body.payment_id);
    expect(next.body.subscription_id).toBe(first.body.subscription_id);
  });

  it('unsupported currency or network → 400 with the field; nothing written', async () => {
    const u = await h.t.register();
    const before = await h.one<{ n: string }>('SELECT count(*) AS n FROM payments');
    const doge = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'DOGE' });
    expect(doge.status).toBe(400);
    expect(JSON.stringify(doge.body)).toContain('crypto_currency');
    const net = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'BTC', network: 'TRC20' });
    expect(net.status).toBe(400);
    expect(net.body).toMatchObject({ details: [{ field: 'network' }] });
    expect(await h.one<{ n: string }>('SELECT count(*) AS n FROM payments')).toEqual(before);
  });

  it('exact amount: completed within one tick, subscription active, tx hash and amount stored, status endpoint per API.md', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    const pending = await status(u.access_token, init.body.payment_id);
    expect(pending.body).toMatchObject({ status: 'pending', confirmed: false, tx_hash: null, received_amount: null, plan: { code: 'enterprise' } });

    const d = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    const r = await h.checker.tick();
    expect(r).toMatchObject({ fetched: true });
    expect(r!.completed).toBeGreaterThanOrEqual(1);

    const done = await status(u.access_token, init.body.payment_id);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', confirmed: true, tx_hash: d.txId, received_amount: init.body.crypto_amount });
    expect(await subOf(init.body.subscription_id)).toMatchObject({ status: 'active' });
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ provider_payment_id: d.depId });
    const audit = await h.one<{ actor_id: string | null; data: Record<string, unknown> }>(
      `SELECT actor_id, data FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'payment_id' = $1`,
      [init.body.payment_id],
    );
    expect(audit).toMatchObject({ actor_id: null, data: { provider: 'okx', activation: 'applied', tx_hash: d.txId } });
    // The e-mail is queued in the same transaction.
    expect(await h.one('SELECT kind, status FROM notification_outbox WHERE dedupe_key = $1', [`payment_confirmed:${init.body.payment_id}`])).toEqual({ kind: 'payment_confirmed', status: 'pending' });

    // Another user's payment: 404, not its data.
    const other = await h.t.register();
    const foreign = await status(other.access_token, init.body.payment_id);
    expect(foreign.status).toBe(404);
    expect(foreign.text).not.toContain(d.txId);
  });

  it('1.9% short is accepted; 2.1% short is not (kept unmatched, payment still pending)', async () => {
    const a = await h.t.register();
    const b = await h.t.register();
    const pa = await h.initialize(a.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'SOL' });
    const pb = await h.initialize(b.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'ETH' });
    const short19 = new Decimal(pa.body.crypto_amount).times('0.981').toFixed(9);
    const short21 = new Decimal(pb.body.crypto_amount).times('0.979').toFixed(9);
    const da = h.deposit({ ccy: 'SOL', chain: 'SOL-Solana', amt: short19 });
    const db = h.deposit({ ccy: 'ETH', chain: 'ETH-ERC20', amt: short21 });
    await h.checker.tick();
    expect(await paymentOf(pa.body.payment_id)).toMatchObject({ status: 'completed', received_amount: new Decimal(short19).toFixed(18) });
    expect(await depositRow(da.depId)).toEqual({ match_status: 'matched', payment_id: pa.body.payment_id });
    expect(await paymentOf(pb.body.payment_id)).toMatchObject({ status: 'pending', received_amount: null });
    expect(await depositRow(db.depId)).toEqual({ match_status: 'unmatched', payment_id: null });
  });

  it('two payments open on the same address at once get different amounts, and each deposit settles its own', async () => {
    const users = await Promise.all([h.t.register(), h.t.register(), h.t.register()]);
    const inits = await Promise.all(users.map((u) => h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' })));
    expect(inits.map((i) => i.status)).toEqual([201, 201, 201]);
    expect(new Set(inits.map((i) => i.body.deposit_address)).size).toBe(1);
    expect(new Set(inits.map((i) => i.body.crypto_amount)).size).toBe(3);
    // Paid in reverse order; each amount is within 2% of all three, the exact one wins.
    const deps = [...inits].reverse().map((i) => h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: i.body.crypto_amount }));
    await h.checker.tick();
    for (const [k, i] of [...inits].reverse().entries()) {
      expect(await paymentOf(i.body.payment_id)).toMatchObject({ status: 'completed', tx_hash: deps[k].txId });
    }
  });

  it('a deposit listed again on later polls (and moving 0 → 8 → 2) settles one payment once', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDC' });
    const d = h.deposit({ ccy: 'USDC', chain: 'USDC-ERC20', amt: init.body.crypto_amount, state: '0' });
    await h.checker.tick();
    expect(await depositRow(d.depId)).toEqual({ match_status: 'new', payment_id: null });
    h.okx.exchange.setDepositState(h.admin, d.depId, '8');
    await h.checker.tick();
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ status: 'pending' });
    h.okx.exchange.setDepositState(h.admin, d.depId, '2');
    await h.checker.tick();
    await h.checker.tick();
    await h.checker.tick();
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ status: 'completed' });
    expect(await h.one('SELECT count(*)::int AS n FROM crypto_deposits WHERE dep_id = $1', [d.depId])).toEqual({ n: 1 });
    expect(await h.one(`SELECT count(*)::int AS n FROM subscription_periods WHERE payment_reference = $1`, [init.body.payment_id])).toEqual({ n: 1 });
    expect(
      await h.one(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'payment_id' = $1`, [init.body.payment_id]),
    ).toEqual({ n: 1 });
  });

  it('a deposit of the wrong currency settles nothing and is kept unmatched', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    // The same number of USDC to the USDC address: not this payment.
    const d = h.deposit({ ccy: 'USDC', chain: 'USDC-ERC20', amt: init.body.crypto_amount });
    await h.checker.tick();
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ status: 'pending' });
    expect(await depositRow(d.depId)).toMatchObject({ match_status: 'unmatched' });
  });

  it('OKX answering 5xx for three ticks loses nothing: the deposit is settled on recovery', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    const d = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    h.okx.inject('server_error', { times: 3, path: '/api/v5/asset/deposit-history', status: 503 });
    for (let i = 0; i < 3; i++) {
      const r = await h.checker.tick();
      expect(r).toMatchObject({ fetched: false });
    }
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ status: 'pending' });
    const r = await h.checker.tick();
    expect(r).toMatchObject({ fetched: true });
    expect(await paymentOf(init.body.payment_id)).toMatchObject({ status: 'completed', tx_hash: d.txId });
  });

  // The address is shared and the amounts of two quotes of a plan differ by at most 999 units, far
  // inside the 2 % tolerance: a deposit that is not exactly one open quote's amount cannot say whose it is.
  it("a late deposit for an expired quote is not taken for another user's open quote of the same plan: kept unmatched", async () => {
    const a = await h.t.register();
    const b = await h.t.register();
    const pa = await h.initialize(a.access_token, { plan_id: h.plans.managed_premium, crypto_currency: 'USDT' });
    const pb = await h.initialize(b.access_token, { plan_id: h.plans.managed_premium, crypto_currency: 'USDT' });
    expect([pa.status, pb.status]).toEqual([201, 201]);
    // A's quote was made three hours ago and expired an hour ago, unpaid; A pays its exact amount now.
    await h.t.db.dataSource.query(
      `UPDATE payments SET created_at = now() - interval '3 hours', expires_at = now() - interval '1 hour', status = 'expired' WHERE id = $1`,
      [pa.body.payment_id],
    );
    const d = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: pa.body.crypto_amount });
    await h.checker.tick();
    expect(await depositRow(d.depId)).toEqual({ match_status: 'unmatched', payment_id: null });
    expect(await paymentOf(pb.body.payment_id)).toMatchObject({ status: 'pending', tx_hash: null });
    expect(await paymentOf(pa.body.payment_id)).toMatchObject({ status: 'expired' });
  });

  it('a short deposit while two quotes of the same plan are open settles neither: kept unmatched', async () => {
    const a = await h.t.register();
    const b = await h.t.register();
    const pa = await h.initialize(a.access_token, { plan_id: h.plans.managed_premium, crypto_currency: 'USDT' });
    const pb = await h.initialize(b.access_token, { plan_id: h.plans.managed_premium, crypto_currency: 'USDT' });
    expect([pa.status, pb.status]).toEqual([201, 201]);
    // A few micro-USDT short of A's amount (the sending exchange kept a fee), and no quote's exact amount.
    const asked = (await h.t.db.dataSource.query(`SELECT crypto_amount::text AS a FROM payments WHERE provider = 'okx' AND crypto_currency = 'USDT'`)) as Array<{ a: string }>;
    const amounts = new Set(asked.map((r) => new Decimal(r.a).toFixed()));
    let short = new Decimal(pa.body.crypto_amount).minus('0.000001');
    while (amounts.has(short.toFixed())) short = short.minus('0.000001');
    const d = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: short.toFixed() });
    await h.checker.tick();
    expect(await depositRow(d.depId)).toEqual({ match_status: 'unmatched', payment_id: null });
    expect(await paymentOf(pa.body.payment_id)).toMatchObject({ status: 'pending' });
    expect(await paymentOf(pb.body.payment_id)).toMatchObject({ status: 'pending' });
  });

  it('a payment sent in time but seen after the expiry (OKX down) still settles; one sent after the expiry is kept for an admin, who assigns it', async () => {
    const u = await h.t.register();
    const inTime = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    const u2 = await h.t.register();
    const late = await h.initialize(u2.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
    const afterExpiry = new Date(Date.now() + 2 * 3_600_000 + 60_000);
    // Both payments expire before anything is seen.
    const expiredTick = await h.checker.runOnce(afterExpiry);
    expect(expiredTick.expired).toBeGreaterThanOrEqual(2);
    expect(await paymentOf(inTime.body.payment_id)).toMatchObject({ status: 'expired' });
    expect(await h.one('SELECT kind FROM notification_outbox WHERE dedupe_key = $1', [`payment_expired:${late.body.payment_id}`])).toEqual({ kind: 'payment_expired' });

    const sentInTime = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: inTime.body.crypto_amount, ts: Date.now() });
    const sentLate = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: late.body.crypto_amount, ts: afterExpiry.getTime() });
    await h.checker.runOnce(new Date(afterExpiry.getTime() + 60_000));
    expect(await paymentOf(inTime.body.payment_id)).toMatchObject({ status: 'completed', tx_hash: sentInTime.txId });
    expect(await paymentOf(late.body.payment_id)).toMatchObject({ status: 'expired' });
    const kept = await depositRow(sentLate.depId);
    expect(kept).toEqual({ match_status: 'unmatched', payment_id: null });

    const admin = await h.t.admin();
    const list = await h.t.request<{ items: Array<{ id: string; dep_id: string; amount: string }>; total: number }>('GET', '/api/admin/payments/unmatched?limit=200', { token: admin.access_token });
    expect(list.status).toBe(200);
    const row = list.body.items.find((i) => i.dep_id === sentLate.depId)!;
    expect(row).toMatchObject({ amount: new Decimal(late.body.crypto_amount).toFixed() });

    // Not for users.
    expect((await h.t.request('GET', '/api/admin/payments/unmatched', { token: u2.access_token })).status).toBe(403);
    // Not to a payment of another currency.
    const btcUser = await h.t.register();
    const btc = await h.initialize(btcUser.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'BTC' });
    const wrong = await h.t.request('POST', `/api/admin/payments/unmatched/${row.id}/assign`, { token: admin.access_token, body: { payment_id: btc.body.payment_id } });
    expect(wrong.status).toBe(409);
    expect(await depositRow(sentLate.depId)).toEqual({ match_status: 'unmatched', payment_id: null });

    // An admin demoted while their assignment is under way (past the role guard): 403, nothing credited.
    const demoted = await h.t.admin();
    const pause = pauseOnce(h.t.app.get(UnmatchedDepositsService), 'assign', 'before');
    try {
      const answer = h.t.request('POST', `/api/admin/payments/unmatched/${row.id}/assign`, { token: demoted.access_token, body: { payment_id: late.body.payment_id } });
      await pause.reached;
      expect((await h.t.request('PATCH', `/api/admin/users/${demoted.id}`, { token: admin.access_token, body: { role: 'user' } })).status).toBe(200);
      pause.release();
      expect((await answer).status).toBe(403);
    } finally {
      pause.release();
    }
    expect(await depositRow(sentLate.depId)).toEqual({ match_status: 'unmatched', payment_id: null });

    const assigned = await h.t.request('POST', `/api/admin/payments/unmatched/${row.id}/assign`, { token: admin.access_token, body: { payment_id: late.body.payment_id } });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ payment_id: late.body.payment_id, status: 'completed', subscription_id: late.body.subscription_id });
    expect(await paymentOf(late.body.payment_id)).toMatchObject({ status: 'completed', tx_hash: sentLate.txId });
    expect(await subOf(late.body.subscription_id)).toMatchObject({ status: 'active' });
    expect(
      await h.one(`SELECT actor_id FROM audit_logs WHERE event_type = 'payment.assigned' AND data->>'payment_id' = $1`, [late.body.payment_id]),
    ).toEqual({ actor_id: admin.id });
    // Once only.
    const again = await h.t.request('POST', `/api/admin/payments/unmatched/${row.id}/assign`, { token: admin.access_token, body: { payment_id: late.body.payment_id } });
    expect(again.status).toBe(409);
  });

  it('without the admin OKX keys (or the CoinGate token) the endpoints answer 503 payments_not_configured', async () => {
    const bare = await createTestApp({});
    try {
      const u = await bare.register();
      const plans = (await bare.db.dataSource.query(`SELECT id FROM subscription_plans WHERE code = 'enterprise'`)) as Array<{ id: string }>;
      const okx = await bare.request('POST', '/api/payments/crypto/initialize', { token: u.access_token, body: { plan_id: plans[0].id, crypto_currency: 'USDT' } });
      expect(okx.status).toBe(503);
      expect(okx.body).toMatchObject({ message: expect.stringContaining('not configured') });
      expect(JSON.stringify(okx.body)).toContain('payments_not_configured');
      const cg = await bare.request('POST', '/api/payments/crypto/coingate', { token: u.access_token, body: { plan_id: plans[0].id } });
      expect(cg.status).toBe(503);
      expect(await bare.db.dataSource.query('SELECT id FROM payments')).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('the admin keys never appear in a response or a log line', () => {
    const logs = h.t.logs.text();
    expect(logs).not.toContain(h.admin.secret);
    expect(logs).not.toContain(h.admin.passphrase);
  });
});
