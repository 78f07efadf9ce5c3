import { createTestApp, TestApp } from '../support/app';

// What a browser-facing API must send and refuse (issue 11, item 1), on real PostgreSQL.
describe('browser hardening: CORS, security headers, 415, error shape (e2e)', () => {
  let t: TestApp;
  const app = 'https://app.example.com';
  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: `${app}, http://localhost:5173` });
  });
  afterAll(async () => {
    await t?.close();
  });

  const errorShape = (status: number) => ({ statusCode: status, error: expect.any(String), code: expect.any(String), message: expect.any(String), details: expect.any(Array), request_id: expect.any(String) });

  it('answers a preflight from an allowed origin: the methods and headers a React app needs, no credentials', async () => {
    const res = await fetch(`${t.url}/api/auth/login`, {
      method: 'OPTIONS',
      headers: { origin: app, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(app);
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toEqual(expect.stringContaining('authorization'));
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toEqual(expect.stringContaining('content-type'));
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives another origin no CORS headers, and exposes the rate-limit headers to an allowed one', async () => {
    const evil = await fetch(`${t.url}/api/subscription-plans`, { headers: { origin: 'https://evil.example.com' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${t.url}/api/auth/login`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();

    const res = await fetch(`${t.url}/api/auth/login`, { method: 'POST', headers: { origin: 'http://localhost:5173', 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'whatever-password' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-expose-headers')).toContain('x-ratelimit-remaining-auth');
    expect(res.headers.get('access-control-expose-headers')).toContain('retry-after-auth');
    expect(res.headers.get('x-ratelimit-remaining-auth')).not.toBeNull();
  });

  it('sends the security headers, and no-store on token-bearing and authenticated answers', async () => {
    const u = await t.register();
    const login = await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    const me = await t.request('GET', '/api/users/me', { token: u.access_token });
    for (const res of [login, me]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).headers['cache-control']).toBe('no-store');
  });

  it('refuses form and text bodies on JSON endpoints with 415, before acting on them', async () => {
    const form = await t.request('POST', '/api/auth/register', { raw: 'email=form%40example.com&password=long-enough-pw&full_name=F', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body).toEqual({ ...errorShape(415), code: 'unsupported_media_type' });
    const text = await t.request('POST', '/api/auth/register', { raw: JSON.stringify({ email: 'text@example.com', password: 'long-enough-pw', full_name: 'T' }), headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const multipart = await t.request('POST', '/api/auth/login', { raw: '--x\r\n\r\n--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    expect(multipart.status).toBe(415);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email IN ('form@example.com', 'text@example.com')`);
    expect(n).toBe(0);
    // JSON with a charset parameter is JSON.
    const ok = await t.request('POST', '/api/auth/register', { body: { email: 'charset@example.com', password: 'long-enough-pw', full_name: 'C' }, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status).toBe(201);
  });

  it('leaves the TradingView receive endpoint (text/plain and anything) and the Stripe webhook to their own parsing', async () => {
    const receive = await t.request('POST', '/api/custom-bot/webhook/receive/not-a-real-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa', { raw: 'buy BTCUSDT', headers: { 'content-type': 'text/plain' } });
    expect(receive.status).not.toBe(415);
    const form = await t.request('POST', '/api/custom-bot/webhook/receive/not-a-real-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa', { raw: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).not.toBe(415);
    const stripe = await t.request('POST', '/api/payments/webhook', { raw: '{}', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' } });
    // Stripe is not configured in this app: its own 503, not a 415.
    expect(stripe.body).toMatchObject({ statusCode: 503, code: 'payments_not_configured' });
  });

  it('a JSON null, array or string body is a 400, not an empty update', async () => {
    const admin = await t.admin();
    const plans = await t.request<{ items: Array<{ id: string; name: string }> }>('GET', '/api/subscription-plans');
    const plan = plans.body.items[0];
    for (const raw of ['null', '[]', '"x"', '42']) {
      const res = await t.request('PATCH', `/api/subscription-plans/${plan.id}`, { raw, token: admin.access_token, headers: { 'content-type': 'application/json' } });
      expect({ raw, status: res.status }).toEqual({ raw, status: 400 });
      expect(res.body).toEqual(errorShape(400));
    }
    const login = await t.request('POST', '/api/auth/login', { raw: 'null', headers: { 'content-type': 'application/json' } });
    expect(login.status).toBe(400);
  });

  it('answers framework errors in our error shape with request_id: bad URL, long path parameter, 404, wrong method, bad JSON', async () => {
    const u = await t.register();
    const cases: Array<[string, string, number]> = [
      ['GET', '/api/%E0%A4%A', 400],
      ['GET', `/api/bots/${'a'.repeat(101)}`, 414],
      ['GET', '/api/no-such-thing', 404],
      ['DELETE', '/api/auth/login', 404],
      ['GET', `/api/custom-bot/webhooks/${'b'.repeat(150)}/events`, 414],
    ];
    for (const [method, path, status] of cases) {
      const res = await t.request(method, path, { token: u.access_token });
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.body).toEqual(errorShape(status));
      expect(res.text).not.toContain('FST_');
      if (status === 414) expect(res.body).toMatchObject({ code: 'uri_too_long' });
      // The path is not echoed (on the receive route it would carry a webhook secret).
      if (status !== 404) expect(res.text).not.toContain(path.split('/').pop());
      expect(res.headers['x-request-id']).toBe((res.body as { request_id: string }).request_id);
    }
    const bad = await t.request('POST', '/api/auth/login', { raw: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(bad.body).toEqual(errorShape(400));
  });
});
