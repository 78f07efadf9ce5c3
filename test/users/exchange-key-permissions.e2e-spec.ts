import { liveExchangeHarness, LiveExchangeHarness } from '../custom-bots/support';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';

/**
 * Issue 14 item 5: what a key may do is read from OKX (GET /api/v5/account/config: perm, ip) through
 * ccxt at every connect; a key that can withdraw is refused; a failed test call answers in a trader's
 * words, never with our URL, host names or resolver errors.
 */
describe('exchange key permissions and failure reasons (e2e: api → real ccxt → fake OKX)', () => {
  let h: LiveExchangeHarness;
  let okx: FakeOkxServer;
  let t: TestApp;
  const CONFIG = '/api/v5/account/config';

  beforeAll(async () => {
    h = await liveExchangeHarness('keys');
    ({ okx, t } = h);
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => okx.clearFaults());

  const connect = (token: string, a: { apiKey: string; secret: string; passphrase: string }, extra: Record<string, unknown> = {}) =>
    t.request('POST', '/api/users/me/exchange', {
      token,
      body: { exchange: 'okx', api_key: a.apiKey, secret: a.secret, passphrase: a.passphrase, sandbox: false, ...extra },
    });
  const rows = async (userId: string) =>
    (await t.db.dataSource.query(`SELECT permissions, retired_at FROM exchange_credentials WHERE user_id = $1 ORDER BY created_at`, [userId])) as Array<{
      permissions: unknown;
      retired_at: Date | null;
    }>;
  /** Nothing about where our requests go may reach a trader. */
  const expectNoPlumbing = (text: string) => {
    for (const leak of [okx.url, '127.0.0.1', 'http', '/api/v5', 'ENOTFOUND', 'getaddrinfo', 'fetch failed', 'okx.invalid', 'ECONNREFUSED']) {
      expect(text).not.toContain(leak);
    }
  };

  it('a trade-only key connects; GET /users/me shows its permissions and no IP binding, never the key', async () => {
    const u = await t.register();
    const account = okx.addAccount({ perm: 'read_only,trade' });
    const before = okx.count('GET', CONFIG);
    const res = await connect(u.access_token, account);
    expect(res.status).toBe(200);
    expect(okx.count('GET', CONFIG)).toBe(before + 1);
    expect(res.body.exchange_permissions).toMatchObject({ read: true, trade: true, withdraw: false, raw: ['read_only', 'trade'], ip_bound: false, ip_whitelist: [] });
    const me = await t.request<Record<string, unknown>>('GET', '/api/users/me', { token: u.access_token });
    expect(me.body).toMatchObject({
      exchange_connected: true,
      exchange: { id: 'okx', api_key_hint: account.apiKey.slice(-4) },
      exchange_permissions: { read: true, trade: true, withdraw: false, ip_bound: false, ip_whitelist: [] },
    });
    expect(Date.parse((me.body.exchange_permissions as { checked_at: string }).checked_at)).toBeGreaterThan(Date.now() - 60_000);
    for (const secret of [account.apiKey, account.secret, account.passphrase]) expect(me.text).not.toContain(secret);
  });

  it('a key that can withdraw is 400 key_can_withdraw with how to make a trade-only key; nothing is stored, no balance read', async () => {
    const u = await t.register();
    const account = okx.addAccount({ perm: 'read_only,withdraw,trade' });
    const balanceReads = okx.count('GET', '/api/v5/account/balance');
    const res = await connect(u.access_token, account);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('key_can_withdraw');
    expect(String(res.body.message)).toMatch(/Read and Trade only/);
    expect(String(res.body.message)).toMatch(/Withdraw unticked/);
    expect(okx.count('GET', '/api/v5/account/balance')).toBe(balanceReads);
    expect(await rows(u.id)).toHaveLength(0);
    const [audit] = (await t.db.dataSource.query(`SELECT data FROM audit_logs WHERE user_id = $1 AND event_type = 'exchange.connect_refused'`, [u.id])) as Array<{
      data: Record<string, unknown>;
    }>;
    expect(audit.data).toMatchObject({ reason: 'key_can_withdraw', permissions: ['read_only', 'withdraw', 'trade'] });
    const me = await t.request('GET', '/api/users/me', { token: u.access_token });
    expect(me.body).toMatchObject({ exchange_connected: false, exchange_permissions: null });
  });

  it('re-checked at each reconnect: the user adds withdraw to a connected key and reconnects → refused, the trade-only key stays', async () => {
    const u = await t.register();
    const account = okx.addAccount({ perm: 'read_only,trade' });
    expect((await connect(u.access_token, account)).status).toBe(200);
    account.perm = 'read_only,trade,withdraw';
    const again = await connect(u.access_token, account);
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('key_can_withdraw');
    // The key connected before, checked trade-only then, is still the current one.
    const stored = await rows(u.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ retired_at: null, permissions: { withdraw: false } });
    // Withdraw removed on OKX, reconnect: read again, stored again.
    account.perm = 'trade';
    const back = await connect(u.access_token, account);
    expect(back.status).toBe(200);
    expect(back.body.exchange_permissions).toMatchObject({ read: false, trade: true, withdraw: false, raw: ['trade'] });
  });

  it('a key bound to our IP shows its binding; a key bound to other IPs is refused in words', async () => {
    const u = await t.register();
    const bound = okx.addAccount({ ip: '127.0.0.1,203.0.113.9' });
    const ok = await connect(u.access_token, bound);
    expect(ok.status).toBe(200);
    expect(ok.body.exchange_permissions).toMatchObject({ ip_bound: true, ip_whitelist: ['127.0.0.1', '203.0.113.9'] });

    const v = await t.register();
    const elsewhere = okx.addAccount({ ip: '203.0.113.7' });
    const res = await connect(v.access_token, elsewhere);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('exchange_connection_failed');
    expect(String(res.body.message)).toMatch(/bound to IP addresses that do not include Torgovo's servers/);
    expectNoPlumbing(res.text);
  });

  it('each common OKX refusal has its own clear message, with nothing of our plumbing', async () => {
    const u = await t.register();
    const account = okx.addAccount();
    const cases: Array<[string, () => Promise<{ status: number; body: Record<string, unknown>; text: string }>, RegExp]> = [
      ['unknown key', () => connect(u.access_token, { ...account, apiKey: 'no-such-key-000' }), /OKX does not recognise this API key/],
      ['wrong passphrase', () => connect(u.access_token, { ...account, passphrase: 'not-the-passphrase' }), /passphrase is wrong for this API key/],
      ['wrong secret', () => connect(u.access_token, { ...account, secret: 'not-the-secret-0000' }), /secret key does not match this API key/],
      ['demo key on live', () => connect(u.access_token, okx.addAccount({ demo: true })), /other OKX environment.*"sandbox": true/],
      [
        'timestamp',
        () => {
          okx.inject('bad_timestamp', { path: CONFIG });
          return connect(u.access_token, account);
        },
        /clocks are out of step/,
      ],
    ];
    for (const [name, send, message] of cases) {
      const res = await send();
      expect({ name, status: res.status, code: res.body.code }).toEqual({ name, status: 400, code: 'exchange_connection_failed' });
      expect(String(res.body.message)).toMatch(message);
      expectNoPlumbing(res.text);
      for (const secret of [account.secret, account.passphrase]) expect(res.text).not.toContain(secret);
    }
    expect(await rows(u.id)).toHaveLength(0);
    // Operators still see the exchange's own code in the log.
    expect(t.logs.text()).toContain('Exchange credential test failed');
    expect(t.logs.text()).toContain('"exchange_code":"50105"');
  });

  it('OKX down (HTML 503) is a reason in words, not a stack of URLs', async () => {
    const u = await t.register();
    okx.inject('server_error', { times: Infinity });
    const res = await connect(u.access_token, okx.addAccount());
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toBe('OKX could not be reached to check these keys. Nothing was saved: try again in a few minutes.');
    expectNoPlumbing(res.text);
  });

  it('an unreachable exchange host (DNS failure) never shows our URL, host name or resolver error', async () => {
    const offline = await createTestApp({ OKX_API_URL: 'http://okx.invalid' });
    try {
      const u = await offline.register();
      const res = await offline.request('POST', '/api/users/me/exchange', {
        token: u.access_token,
        body: { exchange: 'okx', api_key: 'some-key-1234', secret: 'some-secret-5678', passphrase: 'some-pass-9012', sandbox: false },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'exchange_connection_failed', message: 'OKX could not be reached to check these keys. Nothing was saved: try again in a few minutes.' });
      expectNoPlumbing(res.text);
    } finally {
      await offline.close();
    }
  });
});
