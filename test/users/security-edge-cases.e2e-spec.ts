import { createHash, randomBytes } from 'node:crypto';
import { SecretBox } from '@torgovo/core';
import { createTestApp, TestApp } from '../support/app';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('auth and core: edge cases found in review (default config)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('register with a NUL byte in full_name is a 400, and no log line carries the password hash', async () => {
    const res = await t.request('POST', '/api/auth/register', { body: { email: 'nul-name@example.com', password: 'nul-name-password', full_name: 'Ada\u0000Lovelace' } });
    expect(res.text).not.toMatch(/argon2|INSERT INTO/);
    expect(t.logs.text()).not.toMatch(/\$argon2id\$/);
    expect(t.logs.text()).not.toMatch(/INSERT INTO users/);
    expect(res.status).toBe(400);
  });

  it('a deeply nested JSON body is a 400, not a 500', async () => {
    const depth = 20000;
    const raw = `{"email":"deep@example.com","password":"deep-password-1","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await t.request('POST', '/api/auth/login', { raw, headers: { 'content-type': 'application/json' } });
    expect({ status: res.status, body: res.text }).toEqual({ status: 400, body: expect.not.stringMatching(/stack|Maximum/) as unknown });
  });

  it('a huge ?page= is a 400, not a 500 (pagination bounds)', async () => {
    const u = await t.register();
    const res = await t.request('GET', '/api/subscriptions?page=1000000000000000000', { token: u.access_token });
    expect(res.text).not.toMatch(/OFFSET|bigint|QueryFailed/i);
    expect(res.status).toBe(400);
  });

  it('reuse detection: a token minted while the family is being revoked is revoked with it', async () => {
    const u = await t.register(); // T0
    // The thief refreshes T0 first and gets A1.
    const a1 = await t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
    expect(a1.status).toBe(200);
    const A1 = a1.body.refresh_token;
    // Hold A1's row so the thief's next refresh and the revocation meet on it.
    const qr = t.db.dataSource.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await qr.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [sha256(A1)]);
    const waiting = async (n: number) => {
      for (let i = 0; i < 200; i++) {
        const [{ c }] = await t.db.dataSource.query(`SELECT count(*)::int AS c FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (c >= n) return;
        await sleep(25);
      }
      throw new Error('never waited');
    };
    const thief = t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: A1 } });
    await waiting(1);
    // The real user presents the spent T0: reuse detected, the family must die.
    const victim = t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
    await waiting(2);
    await qr.commitTransaction();
    await qr.release();
    const [thiefRes, victimRes] = await Promise.all([thief, victim]);
    expect(victimRes.status).toBe(401);
    expect(thiefRes.status).toBe(200);
    const A2 = thiefRes.body.refresh_token;
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'auth.refresh_reuse' AND user_id = $1`, [u.id]);
    expect(n).toBe(1);
    // The family was revoked after theft was detected: the thief's newest token must be dead too.
    const again = await t.request('POST', '/api/auth/refresh', { body: { refresh_token: A2 } });
    expect(again.status).toBe(401);
  });
});

describe('/docs in production: edge cases found in review', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ NODE_ENV: 'production', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'root-password-123', AUTH_THROTTLE_LIMIT: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('/docs-json is not reachable without admin credentials through a percent-encoded path', async () => {
    for (const p of ['/%64ocs-json', '/%64ocs', '/d%6fcs-json']) {
      const res = await fetch(`${t.url}${p}`);
      const body = await res.text();
      expect({ p, status: res.status, openapi: body.includes('"openapi"') }).toEqual({ p, status: 401, openapi: false });
    }
  });

  it('/docs Basic auth with a NUL byte is a 401, not a 500', async () => {
    const res = await fetch(`${t.url}/docs-json`, { headers: { authorization: `Basic ${Buffer.from('ro\u0000ot@example.com:x').toString('base64')}` } });
    expect({ status: res.status, body: await res.text() }).toEqual({ status: 401, body: expect.not.stringMatching(/UTF8|0x00|encoding/) as unknown });
  });

  it('/docs Basic auth answers an unknown email as slowly as an admin email (no timing oracle for admin accounts)', async () => {
    const time = async (email: string) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await fetch(`${t.url}/docs-json`, { headers: { authorization: `Basic ${Buffer.from(`${email}:wrong-password-${i}`).toString('base64')}` } });
        samples.push(performance.now() - started);
      }
      return samples.sort((a, b) => a - b)[2];
    };
    await time('warmup@example.com');
    const admin = await time('root@example.com');
    const unknown = await time('nobody-at-all@example.com');
    // argon2 runs for every email, so response time does not tell which emails are admins.
    expect(unknown).toBeGreaterThan(admin / 3);
  });
});

describe('SecretBox', () => {
  it('refuses a ciphertext whose GCM tag was truncated', () => {
    const box = new SecretBox(randomBytes(32).toString('base64'));
    const sealed = box.seal('okx-secret', 'user-1');
    const parts = sealed.split(':');
    parts[3] = Buffer.from(parts[3], 'base64url').subarray(0, 4).toString('base64url');
    let opened: string | Error;
    try {
      opened = box.open(parts.join(':'), 'user-1');
    } catch (e) {
      opened = e as Error;
    }
    expect(opened).toBeInstanceOf(Error);
  });
});

describe('/docs in production: password guesses are rate limited', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ NODE_ENV: 'production', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'root-password-123', AUTH_THROTTLE_LIMIT: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('/docs Basic auth is rate limited like login (no unthrottled password oracle)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${t.url}/docs-json`, { headers: { authorization: `Basic ${Buffer.from(`root@example.com:guess-${i}`).toString('base64')}` } });
      statuses.push(res.status);
    }
    expect(statuses).toContain(429);
  });
});
