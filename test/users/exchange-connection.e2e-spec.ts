import { isCcxtLoaded, OkxSidecar } from '@torgovo/core';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';

describe('exchange connection (e2e: api → real ccxt → fake OKX)', () => {
  let okx: FakeOkxServer;
  let t: TestApp;
  const account = { apiKey: 'okx-api-key-7f3a91', secret: 'OKX-SECRET-do-not-leak-9x8y', passphrase: 'Pass-Phrase-do-not-leak' };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    okx.addAccount({ ...account, balances: { USDT: '1000' } });
    okx.addAccount({ apiKey: 'demo-key-0001', secret: 'demo-secret-xyz-123', passphrase: 'demo-pass-123', demo: true });
    t = await createTestApp({ OKX_API_URL: okx.url });
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => okx.clearFaults());

  const connect = (token: string, body: Record<string, unknown>) => t.request('POST', '/api/users/me/exchange', { token, body });
  const credentialRows = async (userId: string) =>
    (await t.db.dataSource.query(`SELECT * FROM exchange_credentials WHERE user_id = $1`, [userId])) as Array<Record<string, string>>;

  it('tests the keys on the exchange, stores them encrypted and never returns them', async () => {
    const u = await t.register();
    const before = okx.count('GET', '/api/v5/account/balance');
    const res = await connect(u.access_token, { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ exchange_connected: true, exchange: { id: 'okx', sandbox: false, api_key_hint: '3a91' } });
    expect(okx.count('GET', '/api/v5/account/balance')).toBe(before + 1);
    for (const secret of Object.values(account)) expect(res.text).not.toContain(secret);

    const [row] = await credentialRows(u.id);
    expect(row.secret_enc).toMatch(/^v1:[0-9a-f]{8}:/);
    const stored = JSON.stringify(row);
    for (const secret of Object.values(account)) expect(stored).not.toContain(secret);

    const me = await t.request('GET', '/api/users/me', { token: u.access_token });
    expect(me.body).toMatchObject({ exchange_connected: true, exchange: { id: 'okx' } });
    for (const secret of Object.values(account)) expect(me.text).not.toContain(secret);

    // The api alone (no worker in its process) tested the keys in its OKX call process: ccxt stayed out of it.
    expect(t.app.get(OkxSidecar).pid).toBeDefined();
    expect(isCcxtLoaded()).toBe(false);
  });

  it('a key the exchange rejects is a 400 with the exchange reason, and nothing is saved', async () => {
    const u = await t.register();
    const res = await connect(u.access_token, { exchange: 'okx', api_key: 'unknown-key', secret: 'whatever-secret', passphrase: 'p', sandbox: false });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('exchange_connection_failed');
    expect(String(res.body.message)).toMatch(/OKX does not recognise this API key/);
    expect(await credentialRows(u.id)).toHaveLength(0);
  });

  it('a wrong secret (bad signature) is refused the same way', async () => {
    const u = await t.register();
    const res = await connect(u.access_token, { exchange: 'okx', api_key: account.apiKey, secret: 'wrong-secret', passphrase: account.passphrase });
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toMatch(/secret key does not match/);
    expect(await credentialRows(u.id)).toHaveLength(0);
  });

  it('demo keys work only in sandbox mode (x-simulated-trading)', async () => {
    const u = await t.register();
    const demo = { exchange: 'okx', api_key: 'demo-key-0001', secret: 'demo-secret-xyz-123', passphrase: 'demo-pass-123' };
    expect((await connect(u.access_token, { ...demo, sandbox: false })).status).toBe(400);
    const ok = await connect(u.access_token, { ...demo, sandbox: true });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ exchange: { sandbox: true } });
    const last = okx.requests.filter((r) => r.path === '/api/v5/account/balance').at(-1)!;
    expect(last.headers['x-simulated-trading']).toBe('1');
  });

  it('an exchange outage is a 400 with a reason and saves nothing', async () => {
    const u = await t.register();
    okx.inject('server_error', { times: Infinity });
    const res = await connect(u.access_token, { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase });
    expect(res.status).toBe(400);
    expect(await credentialRows(u.id)).toHaveLength(0);
  });

  it.each([
    ['unsupported exchange', { exchange: 'binance', api_key: 'k', secret: 's', passphrase: 'p' }],
    ['missing passphrase for okx', { exchange: 'okx', api_key: 'k', secret: 's' }],
    ['wrong types', { exchange: 'okx', api_key: 1, secret: true, passphrase: [], sandbox: 'yes' }],
    ['unknown field', { exchange: 'okx', api_key: 'k', secret: 's', passphrase: 'p', withdraw: true }],
  ])('%s → 400 without calling the exchange', async (_name, body) => {
    const u = await t.register();
    const before = okx.requests.length;
    const res = await connect(u.access_token, body);
    expect(res.status).toBe(400);
    expect(okx.requests.length).toBe(before);
    expect(await credentialRows(u.id)).toHaveLength(0);
  });

  it('needs authentication', async () => {
    expect((await t.request('POST', '/api/users/me/exchange', { body: { exchange: 'okx' } })).status).toBe(401);
  });

  it('disconnect deletes only the caller’s credentials', async () => {
    const a = await t.register();
    const b = await t.register();
    const body = { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase };
    expect((await connect(a.access_token, body)).status).toBe(200);
    expect((await connect(b.access_token, body)).status).toBe(200);
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: a.access_token })).status).toBe(204);
    expect(await credentialRows(a.id)).toHaveLength(0);
    expect(await credentialRows(b.id)).toHaveLength(1);
    const me = await t.request('GET', '/api/users/me', { token: a.access_token });
    expect(me.body).toMatchObject({ exchange_connected: false, exchange: null });
  });

  it('audit rows record connections without secrets; no log line carries a secret', async () => {
    const rows = (await t.db.dataSource.query(`SELECT event_type, data FROM audit_logs WHERE event_type LIKE 'exchange.%'`)) as Array<{ event_type: string; data: unknown }>;
    expect(rows.map((r) => r.event_type)).toEqual(expect.arrayContaining(['exchange.connected', 'exchange.connect_failed', 'exchange.disconnected']));
    const audit = JSON.stringify(rows);
    const logs = t.logs.text();
    for (const secret of [account.secret, account.passphrase, 'demo-secret-xyz-123', 'demo-pass-123', 'wrong-secret']) {
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
