import { isCcxtLoaded, OkxSidecar } from '@torgovo/core';
import { createCryptoHarness, CryptoHarness } from './crypto-support';

/**
 * The platform's OKX account through the OKX call process (OKX_CALLS=sidecar, the api's default
 * when the worker runs elsewhere): deposit address, price and deposit history signed by ccxt in the
 * child, with the admin keys sent per call. The checker is ticked by hand in this process.
 */
describe('Crypto payments on OKX through the OKX call process', () => {
  let h: CryptoHarness;

  beforeAll(async () => {
    h = await createCryptoHarness({ OKX_CALLS: 'sidecar' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('quotes, takes the deposit address and settles the deposit with every OKX call in the child; ccxt never loads here', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(init.status).toBe(201);
    expect(init.body.deposit_address).toBe(h.admin.depositAddresses.find((a) => a.chain === 'USDT-TRC20' && a.selected)?.addr);

    const d = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    expect(await h.checker.tick()).toMatchObject({ fetched: true });
    const done = await h.t.request('GET', `/api/payments/crypto/status/${init.body.payment_id}`, { token: u.access_token });
    expect(done.body).toMatchObject({ status: 'completed', tx_hash: d.txId });

    expect(h.t.app.get(OkxSidecar).pid).toBeDefined();
    expect(isCcxtLoaded()).toBe(false);
  });

  it('payments quoted in the same second share one price read (OKX allows 20 ticker reads per 2 s)', async () => {
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => h.t.register()));
    const before = h.okx.count('GET', '/api/v5/market/ticker');
    const inits = await Promise.all(users.map((u) => h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'BTC' })));
    expect(inits.map((i) => i.status)).toEqual([201, 201, 201, 201, 201]);
    expect(h.okx.count('GET', '/api/v5/market/ticker') - before).toBe(1);
  });

  it('a failed price read is not kept: the next quote reads again', async () => {
    const [a, b] = await Promise.all([h.t.register(), h.t.register()]);
    await new Promise((r) => setTimeout(r, 1_100)); // past the previous test's shared read
    h.okx.inject('server_error', { path: '/api/v5/market/ticker' });
    const failed = await h.initialize(a.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'ETH' });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const ok = await h.initialize(b.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'ETH' });
    expect(ok.status).toBe(201);
  });

  it('the admin keys never appear in a response or a log line', () => {
    const logs = h.t.logs.text();
    expect(logs).not.toContain(h.admin.secret);
    expect(logs).not.toContain(h.admin.passphrase);
  });
});
