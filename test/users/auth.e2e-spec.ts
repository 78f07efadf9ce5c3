import { createHmac } from 'node:crypto';
import { TokensService } from '@torgovo/users';
import { subscribe } from '../custom-bots/support';
import { createTestApp, TestApp } from '../support/app';
import { whileHeld } from '../support/held-transaction';
import { pauseOnce } from '../support/pause-once';

const JWT_SECRET = 'test-jwt-secret-0123456789abcdefghijklmnop';

function signJwt(payload: Record<string, unknown>, secret = JWT_SECRET): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const body = enc(payload);
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

describe('auth (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const countRows = async (table: string) => Number((await t.db.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n);

  it('registers a user and never returns the hash', async () => {
    const res = await t.request('POST', '/api/auth/register', { body: { email: 'Ada@Example.com', password: 'long-enough-pw', full_name: 'Ada' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user: { email: 'ada@example.com', full_name: 'Ada', role: 'user', is_active: true }, token_type: 'Bearer' });
    expect(typeof res.body.access_token).toBe('string');
    expect(typeof res.body.refresh_token).toBe('string');
    expect(res.text).not.toMatch(/argon2|password_hash|long-enough-pw/);
    const [row] = await t.db.dataSource.query(`SELECT password_hash FROM users WHERE email = 'ada@example.com'`);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a duplicate email, whatever its case, with 409', async () => {
    const res = await t.request('POST', '/api/auth/register', { body: { email: 'ADA@example.com', password: 'another-password', full_name: 'Ada 2' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict', code: 'email_taken' });
    expect(typeof res.body.request_id).toBe('string');
  });

  it('two concurrent registrations of one email: one 201, one 409', async () => {
    const body = { email: 'race@example.com', password: 'long-enough-pw', full_name: 'Race' };
    const [a, b] = await Promise.all([t.request('POST', '/api/auth/register', { body }), t.request('POST', '/api/auth/register', { body })]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email = 'race@example.com'`);
    expect(n).toBe(1);
  });

  describe('bad input is a 400 that writes nothing', () => {
    const cases: Array<[string, { body?: unknown; raw?: string; headers?: Record<string, string> }, RegExp | string]> = [
      ['short password', { body: { email: 'x1@example.com', password: 'short', full_name: 'X' } }, 'password'],
      ['invalid email', { body: { email: 'not-an-email', password: 'long-enough-pw', full_name: 'X' } }, 'email'],
      ['wrong types', { body: { email: 42, password: ['a'], full_name: { a: 1 } } }, 'email'],
      ['unknown field', { body: { email: 'x2@example.com', password: 'long-enough-pw', full_name: 'X', role: 'admin' } }, 'role'],
      ['missing fields', { body: {} }, 'email'],
      ['malformed JSON', { raw: '{"email": "x3@example.com", ', headers: { 'content-type': 'application/json' } }, /JSON/],
    ];
    it.each(cases)('%s', async (_name, opts, expected) => {
      const before = await countRows('users');
      const res = await t.request('POST', '/api/auth/register', opts);
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
      if (typeof expected === 'string') {
        expect((res.body.details as Array<{ field: string }>).map((d) => d.field)).toContain(expected);
      } else {
        expect(String(res.body.message)).toMatch(expected);
      }
      expect(await countRows('users')).toBe(before);
    });
  });

  it('login: wrong password and unknown email are the same 401', async () => {
    const wrong = await t.request('POST', '/api/auth/login', { body: { email: 'ada@example.com', password: 'not-the-password' } });
    const unknown = await t.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'not-the-password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'auth.login_failed'`);
    expect(n).toBeGreaterThanOrEqual(2);
  });

  it('login works case-insensitively and /users/me shows only the caller', async () => {
    const login = await t.request<{ access_token: string; user: { id: string } }>('POST', '/api/auth/login', { body: { email: 'ADA@example.com', password: 'long-enough-pw' } });
    expect(login.status).toBe(200);
    const other = await t.register();
    const me = await t.request('GET', '/api/users/me', { token: login.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: login.body.user.id, email: 'ada@example.com', exchange_connected: false, exchange: null, subscriptions: [] });
    expect(me.text).not.toContain(other.id);
    expect(me.text).not.toMatch(/password/);
  });

  it('rejects missing, forged and expired access tokens', async () => {
    const u = await t.register();
    expect((await t.request('GET', '/api/users/me')).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: 'garbage' })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ sub: u.id, email: u.email, role: 'admin', iat: now, exp: now + 600 }, 'another-secret-another-secret-another');
    expect((await t.request('GET', '/api/users/me', { token: forged })).status).toBe(401);
    const expired = signJwt({ sub: u.id, email: u.email, role: 'user', iat: now - 1000, exp: now - 10 });
    const res = await t.request('GET', '/api/users/me', { token: expired });
    expect(res.status).toBe(401);
    // Without `sid` (as every token issued before sessions were checked): valid until it expires.
    const valid = signJwt({ sub: u.id, email: u.email, role: 'user', iat: now, exp: now + 600 });
    expect((await t.request('GET', '/api/users/me', { token: valid })).status).toBe(200);
  });

  it('rotates refresh tokens; a spent one presented by another client revokes the whole family', async () => {
    const u = await t.register();
    const first = await t.request<{ refresh_token: string; access_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(u.refresh_token);
    // The original token is spent: presented again by someone else (another user agent), even
    // within the grace window, it is theft, and kills the descendant too.
    const reuse = await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token }, headers: { 'user-agent': 'thief/1.0' } });
    expect(reuse.status).toBe(401);
    const descendant = await t.request('POST', '/api/auth/refresh', { body: { refresh_token: first.body.refresh_token } });
    expect(descendant.status).toBe(401);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'auth.refresh_reuse' AND user_id = $1`, [u.id]);
    expect(n).toBe(1);
    // A fresh login starts a new, valid family.
    const login = await t.request<{ refresh_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } })).status).toBe(200);
  });

  it('grace window: the same client presenting a just-spent token gets the same new pair; after the window it is reuse', async () => {
    const u = await t.register();
    const first = await t.request<{ refresh_token: string; access_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
    const again = await t.request<{ refresh_token: string; access_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
    expect(again.status).toBe(200);
    expect(again.body.refresh_token).toBe(first.body.refresh_token);
    expect((await t.request('GET', '/api/users/me', { token: again.body.access_token })).status).toBe(200);
    // Nothing new was minted: the family holds the login token and its one successor.
    const rows = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1`, [u.id]);
    expect(rows[0].n).toBe(2);
    // Once the successor is spent, the old token is no longer a replay: the family dies.
    const second = await t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: first.body.refresh_token } });
    expect(second.status).toBe(200);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: second.body.refresh_token } })).status).toBe(401);

    // Outside the window (spent 11 s ago, default window 10 s) the same client's reuse revokes.
    const v = await t.register();
    const next = await t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: v.refresh_token } });
    await t.db.dataSource.query(`UPDATE refresh_tokens SET used_at = used_at - interval '11 seconds' WHERE user_id = $1 AND used_at IS NOT NULL`, [v.id]);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: v.refresh_token } })).status).toBe(401);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: next.body.refresh_token } })).status).toBe(401);
  });

  it('a refresh token used three times at once (two tabs, StrictMode) yields one new pair, given to all three', async () => {
    const u = await t.register();
    const results = await Promise.all([1, 2, 3].map(() => t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(results.map((r) => r.body.refresh_token)).size).toBe(1);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1`, [u.id]);
    expect(n).toBe(2);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: results[0].body.refresh_token } })).status).toBe(200);
  });

  it('unknown and expired refresh tokens are 401', async () => {
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: 'nope' } })).status).toBe(401);
    const u = await t.register();
    await t.db.dataSource.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = $1`, [u.id]);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
  });

  it('logout revokes the refresh token', async () => {
    const u = await t.register();
    const out = await t.request('POST', '/api/auth/logout', { token: u.access_token, body: { refresh_token: u.refresh_token } });
    expect(out.status).toBe(204);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
  });

  it('logout ends the session: its access token is refused at once; another session of the same user is not', async () => {
    const u = await t.register();
    const other = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect(other.status).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(200);
    expect((await t.request('POST', '/api/auth/logout', { token: u.access_token, body: { refresh_token: u.refresh_token } })).status).toBe(204);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: other.body.access_token })).status).toBe(200);
  });

  it('reuse detection ends the family: the thief\'s access token is refused and mints no personal token', async () => {
    const v = await t.register();
    await subscribe(t, v, 'enterprise');
    // The thief refreshes first; the owner's refresh is then the reuse that revokes the family.
    const thief = await t.request<{ access_token: string; refresh_token: string }>('POST', '/api/auth/refresh', {
      body: { refresh_token: v.refresh_token },
      headers: { 'user-agent': 'thief/1.0' },
    });
    expect(thief.status).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token: thief.body.access_token })).status).toBe(200);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: v.refresh_token } })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: thief.body.access_token })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: v.access_token })).status).toBe(401);
    const pat = await t.request('POST', '/api/users/me/tokens', { token: thief.body.access_token, body: { name: 'kept', scope: 'trade' } });
    expect(pat.status).toBe(401);
    const [{ n }] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM personal_access_tokens WHERE user_id = $1`, [v.id])) as Array<{ n: number }>;
    expect(n).toBe(0);
  });

  it('a deactivated user can neither log in nor use a live token or refresh token', async () => {
    const u = await t.register();
    await t.db.dataSource.query(`UPDATE users SET is_active = false WHERE id = $1`, [u.id]);
    expect((await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(401);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
  });

  it('echoes a request id and puts it in error bodies', async () => {
    const res = await t.request('GET', '/api/users/me', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    expect(res.body.request_id).toBe('trace-abc-123');
  });

  it('unknown routes are a 404 in the error shape', async () => {
    const res = await t.request('GET', '/api/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('serves /health with the database up, outside /api', async () => {
    const res = await t.request<{ status: string; info: Record<string, { status: string }> }>('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.database.status).toBe('up');
  });

  it('serves the OpenAPI document and Swagger UI outside production', async () => {
    const json = await t.request<{ openapi: string; paths: Record<string, unknown> }>('GET', '/docs-json');
    expect(json.status).toBe(200);
    expect(json.body.paths).toHaveProperty('/api/auth/register');
    const ui = await fetch(`${t.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('a login whose password check is under way when the account is deactivated: refused, no refresh token made', async () => {
    const u = await t.register();
    const ds = t.db.dataSource;
    // The deactivation's transaction (its refresh tokens revoked in it), committing after the login read the account.
    const { status } = await whileHeld(
      ds,
      [
        [`UPDATE users SET is_active = false WHERE id = $1`, [u.id]],
        [`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [u.id]],
      ],
      () => t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } }),
    );
    // Before: 200, with a refresh token made after the revocation that would work again on reactivation.
    expect(status).toBe(401);
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [u.id])) as Array<{ n: number }>;
    expect(n).toBe(0);
  });

  it('a refresh under way when the account is deactivated: the new refresh token is revoked with the others, or never made; none works after reactivation', async () => {
    const u = await t.register();
    const admin = await t.admin();
    // The interleaving: the refresh has spent its token and read the account active; its issue waits until the deactivation has started.
    const issue = pauseOnce(t.app.get(TokensService), 'issue', 'before');
    try {
      const refreshing = t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
      await issue.reached;
      const deactivating = t.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active: false } });
      await new Promise((r) => setTimeout(r, 400));
      issue.release();
      const [refreshed, deactivated] = await Promise.all([refreshing, deactivating]);
      expect(deactivated.status).toBe(200);
      // Before: the deactivation's revocation waited on the spent token's row and missed the successor,
      // committed after its statement began: that token worked again once the account was reactivated.
      const [{ n }] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [u.id])) as Array<{ n: number }>;
      expect(n).toBe(0);
      expect((await t.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active: true } })).status).toBe(200);
      if (refreshed.status === 200) {
        expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: refreshed.body.refresh_token } })).status).toBe(401);
      } else expect(refreshed.status).toBe(401);
    } finally {
      issue.release();
      jest.restoreAllMocks();
    }
  });

  it('no log line contains a password, hash or token', async () => {
    const text = t.logs.text();
    expect(t.logs.lines.length).toBeGreaterThan(10);
    expect(text).not.toMatch(/long-enough-pw|correct-horse-battery|another-password|\$argon2id/);
    expect(text).not.toMatch(/eyJhbGciOi/); // no JWT
    const [{ token_hash }] = await t.db.dataSource.query(`SELECT token_hash FROM refresh_tokens LIMIT 1`);
    expect(text).not.toContain(token_hash);
  });
});

describe('auth rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_THROTTLE_LIMIT: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 after the configured number of login attempts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await t.request('POST', '/api/auth/login', { body: { email: 'who@example.com', password: 'whatever-pw' } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
