import { randomUUID } from 'node:crypto';
import { ADMIN_SET_LOCK } from '@torgovo/users';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';
import { runCli } from '../support/cli';
import { createBot, generateWebhook, sendAlert, subscribe } from '../custom-bots/support';

interface AdminUser {
  id: string;
  email: string;
  role: string;
  is_active: boolean;
  last_login_at: string | null;
  erased_at: string | null;
}
interface Detail extends AdminUser {
  exchange_connected: boolean;
  exchange: string | null;
  subscriptions: Array<{ status: string }>;
  bots: Array<{ id: string; status: string; stop_reason: string | null }>;
}

describe('admin user management (/api/admin/users)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let root: { id: string; access_token: string };
  const account = { apiKey: 'admin-test-key-9c1d', secret: 'admin-test-secret-value', passphrase: 'admin-test-pass' };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    okx.addAccount({ ...account, balances: { USDT: '1000' } });
    t = await createTestApp({ OKX_API_URL: okx.url });
    root = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  const as = (token: string) => ({
    get: <T>(path: string) => t.request<T>('GET', path, { token }),
    patch: <T>(path: string, body: unknown) => t.request<T>('PATCH', path, { token, body, headers: { 'user-agent': 'admin-console/1.0' } }),
    del: (path: string) => t.request('DELETE', path, { token, headers: { 'user-agent': 'admin-console/1.0' } }),
  });

  it('a normal user gets 403 on every admin path and changes nothing', async () => {
    const u = await t.register();
    const other = await t.register();
    const api = as(u.access_token);
    expect((await api.get('/api/admin/users')).status).toBe(403);
    expect((await api.get(`/api/admin/users/${other.id}`)).status).toBe(403);
    expect((await api.patch(`/api/admin/users/${other.id}`, { is_active: false })).status).toBe(403);
    expect((await api.patch(`/api/admin/users/${u.id}`, { role: 'admin' })).status).toBe(403);
    expect((await api.del(`/api/admin/users/${other.id}`)).status).toBe(403);
    const rows = (await t.db.dataSource.query(`SELECT role, is_active FROM users WHERE id IN ($1, $2)`, [u.id, other.id])) as Array<{ role: string; is_active: boolean }>;
    expect(rows.every((r) => r.role === 'user' && r.is_active)).toBe(true);
  });

  it('lists with filters (email contains, role, active, plan) and pages', async () => {
    const tag = `flt${Date.now()}`;
    const a = await t.register(`${tag}-a@example.com`);
    const b = await t.register(`${tag}-b@example.com`);
    const c = await t.register(`${tag}-C@example.com`);
    await subscribe(t, a, 'free');
    await subscribe(t, b, 'pro');
    await as(root.access_token).patch(`/api/admin/users/${c.id}`, { is_active: false });
    const api = as(root.access_token);

    const all = await api.get<{ items: AdminUser[]; total: number; page: number; limit: number }>(`/api/admin/users?email=${tag.toUpperCase()}&limit=2`);
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(3);
    expect(all.body.items.map((u) => u.id)).toEqual([c.id, b.id]); // newest first
    const page2 = await api.get<{ items: AdminUser[]; total: number }>(`/api/admin/users?email=${tag}&limit=2&page=2`);
    expect(page2.body.items.map((u) => u.id)).toEqual([a.id]);
    const past = await api.get<{ items: AdminUser[]; total: number }>(`/api/admin/users?email=${tag}&limit=2&page=9`);
    expect(past.body).toMatchObject({ items: [], total: 3 });

    const pro = await api.get<{ items: AdminUser[] }>(`/api/admin/users?email=${tag}&plan=pro`);
    expect(pro.body.items.map((u) => u.id)).toEqual([b.id]);
    const inactive = await api.get<{ items: AdminUser[] }>(`/api/admin/users?email=${tag}&is_active=false`);
    expect(inactive.body.items.map((u) => u.id)).toEqual([c.id]);
    const admins = await api.get<{ items: AdminUser[] }>(`/api/admin/users?role=admin`);
    expect(admins.body.items.map((u) => u.id)).toContain(root.id);
    expect(admins.body.items.every((u) => u.role === 'admin')).toBe(true);

    for (const bad of ['role=owner', 'is_active=maybe', 'limit=500', 'page=0', 'unknown=1', `email=${'x'.repeat(400)}`]) {
      const res = await api.get(`/api/admin/users?${bad}`);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
  });

  it('detail: subscriptions, bots, exchange connected yes/no and last login — never the keys; unknown id 404', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    expect((await createBot(t, u)).status).toBe(201);
    const conn = await t.request('POST', '/api/users/me/exchange', {
      token: u.access_token,
      body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
    });
    expect(conn.status).toBe(200);
    await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });

    const res = await as(root.access_token).get<Detail>(`/api/admin/users/${u.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, email: u.email, exchange_connected: true, exchange: 'okx', erased_at: null });
    expect(res.body.last_login_at).not.toBeNull();
    expect(res.body.subscriptions.map((s) => s.status)).toEqual(['trial']); // Pro starts with its trial
    expect(res.body.bots).toHaveLength(1);
    for (const secret of [account.apiKey, account.secret, account.passphrase, 'password_hash']) expect(res.text).not.toContain(secret);

    expect((await as(root.access_token).get(`/api/admin/users/${randomUUID()}`)).status).toBe(404);
    expect((await as(root.access_token).get(`/api/admin/users/not-a-uuid`)).status).toBe(400);
  });

  it('deactivating revokes tokens and stops bots, audited with the admin, IP and user agent; reactivating lets the user back in', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = await createBot(t, u);
    await t.request('POST', `/api/bots/${bot.body.id as string}/start`, { token: u.access_token });

    const res = await as(root.access_token).patch<Detail>(`/api/admin/users/${u.id}`, { is_active: false });
    expect(res.status).toBe(200);
    expect(res.body.is_active).toBe(false);
    expect(res.body.bots[0]).toMatchObject({ status: 'stopped', stop_reason: 'user_deactivated' });
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(401);
    const [audit] = (await t.db.dataSource.query(
      `SELECT actor_id, ip, user_agent, data FROM audit_logs WHERE event_type = 'user.deactivated' AND user_id = $1`,
      [u.id],
    )) as Array<{ actor_id: string; ip: string; user_agent: string; data: { source: string } }>;
    expect(audit).toMatchObject({ actor_id: root.id, user_agent: 'admin-console/1.0', data: { source: 'admin' } });
    expect(audit.ip).toBeTruthy();

    const back = await as(root.access_token).patch<Detail>(`/api/admin/users/${u.id}`, { is_active: true });
    expect(back.body.is_active).toBe(true);
    expect((await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
  });

  it('an admin cannot demote or deactivate themselves', async () => {
    for (const change of [{ role: 'user' }, { is_active: false }]) {
      const res = await as(root.access_token).patch<{ code: string }>(`/api/admin/users/${root.id}`, change);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('cannot_change_self');
    }
    expect((await as(root.access_token).del(`/api/admin/users/${root.id}`)).status).toBe(409);
  });

  it('two admins demoting each other at the same moment: one wins, the other is refused, one admin remains', async () => {
    // A fresh database state for this: only these two are admins.
    await t.db.dataSource.query(`UPDATE users SET role = 'user' WHERE role = 'admin'`);
    const a = await t.admin();
    const b = await t.admin();
    for (let round = 0; round < 3; round++) {
      const [ra, rb] = await Promise.all([
        as(a.access_token).patch<{ code: string }>(`/api/admin/users/${b.id}`, { role: 'user' }),
        as(b.access_token).patch<{ code: string }>(`/api/admin/users/${a.id}`, { role: 'user' }),
      ]);
      const statuses = [ra.status, rb.status].sort();
      // Whoever is demoted first loses admin rights: the other request is 409 last_admin, or 403 if
      // its sender was already demoted when it arrived.
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND is_active`);
      expect(n).toBe(1);
      // Restore both for the next round.
      await t.db.dataSource.query(`UPDATE users SET role = 'admin' WHERE id IN ($1, $2)`, [a.id, b.id]);
    }
    await t.db.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [root.id]);
  });

  it('an admin demoted while their request waits (past the role guard): nothing they asked lands after their demotion committed', async () => {
    const b = await t.admin();
    const c = await t.register();
    const roleOf = async (id: string) => ((await t.db.dataSource.query(`SELECT role FROM users WHERE id = $1`, [id])) as Array<{ role: string }>)[0].role;
    // C's row is busy (another change to it under way): B's promotion of C is past the guard and waits.
    const busy = t.db.dataSource.createQueryRunner();
    await busy.connect();
    await busy.startTransaction();
    try {
      await busy.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [c.id]);
      const promoting = as(b.access_token).patch(`/api/admin/users/${c.id}`, { role: 'admin' });
      await new Promise((r) => setTimeout(r, 300));
      // Root demotes B meanwhile; C's role as it stands when that demotion has committed:
      const demoting = as(root.access_token)
        .patch(`/api/admin/users/${b.id}`, { role: 'user' })
        .then(async (res) => ({ status: res.status, cRole: await roleOf(c.id) }));
      await new Promise((r) => setTimeout(r, 300));
      await busy.commitTransaction();
      const [promoted, demoted] = await Promise.all([promoting, demoting]);
      expect(demoted.status).toBe(200);
      expect(await roleOf(b.id)).toBe('user');
      // Before: the demotion committed at once, then B's promotion went through (200): C became admin
      // by the hand of a user who was no longer one. Now the promotion holds the admin set until it
      // commits, so it lands before the demotion, or (had it come after) is refused 403.
      expect(await roleOf(c.id)).toBe(demoted.cRole);
      expect([promoted.status, demoted.cRole]).toEqual([200, 'admin']);
    } finally {
      if (busy.isTransactionActive) await busy.rollbackTransaction();
      await busy.release();
    }
  });

  it('an admin demoted before their request reaches its change (past the role guard) is refused 403: nothing changes', async () => {
    const b = await t.admin();
    const c = await t.register();
    // The admin set is busy (root's demotion of B is under way, holding it): B's request is past the guard and waits.
    const demotion = t.db.dataSource.createQueryRunner();
    await demotion.connect();
    await demotion.startTransaction();
    try {
      await demotion.query(`SELECT pg_advisory_xact_lock($1)`, [ADMIN_SET_LOCK]);
      await demotion.query(`UPDATE users SET role = 'user' WHERE id = $1`, [b.id]);
      const promoting = as(b.access_token).patch<{ code: string }>(`/api/admin/users/${c.id}`, { role: 'admin' });
      await new Promise((r) => setTimeout(r, 300));
      await demotion.commitTransaction();
      const res = await promoting;
      expect([res.status, res.body.code]).toEqual([403, 'forbidden']);
      const [{ role }] = (await t.db.dataSource.query(`SELECT role FROM users WHERE id = $1`, [c.id])) as Array<{ role: string }>;
      expect(role).toBe('user');
    } finally {
      if (demotion.isTransactionActive) await demotion.rollbackTransaction();
      await demotion.release();
    }
  });

  it('the last admin cannot be removed, by the API or the CLI', async () => {
    await t.db.dataSource.query(`UPDATE users SET role = 'user' WHERE role = 'admin' AND id <> $1`, [root.id]);
    const [{ email }] = (await t.db.dataSource.query(`SELECT email FROM users WHERE id = $1`, [root.id])) as Array<{ email: string }>;
    await expect(runCli(t, ['deactivate-user', '--email', email])).rejects.toMatchObject({ stderr: expect.stringContaining('last active admin') });
    const [{ is_active }] = (await t.db.dataSource.query(`SELECT is_active FROM users WHERE id = $1`, [root.id])) as Array<{ is_active: boolean }>;
    expect(is_active).toBe(true);
  }, 120_000);

  it('a key connect under way when the account is erased stores nothing: 401, no keys, no connect audit row after the erasure', async () => {
    const u = await t.register();
    // The connect's check with the exchange is held on OKX's side while the admin erases the account.
    const held = okx.hold('GET', '/api/v5/account/balance');
    const connecting = t.request('POST', '/api/users/me/exchange', {
      token: u.access_token,
      body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
    });
    for (let i = 0; i < 200 && okx.count('GET', '/api/v5/account/balance') === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await as(root.access_token).del(`/api/admin/users/${u.id}`)).status).toBe(204);
    held.release();
    const res = await connecting;
    // Before: 200, and the erased account held current encrypted keys (purged by nothing).
    expect(res.status).toBe(401);
    expect(await t.db.dataSource.query(`SELECT 1 FROM exchange_credentials WHERE user_id = $1`, [u.id])).toEqual([]);
    const connected = await t.db.dataSource.query(`SELECT 1 FROM audit_logs WHERE user_id = $1 AND event_type = 'exchange.connected'`, [u.id]);
    expect(connected).toEqual([]);
  });

  it('erasing an admin removes their IP and user agent from what they did to others; the rows stay', async () => {
    const b = await t.admin();
    const c = await t.register();
    expect((await as(b.access_token).patch(`/api/admin/users/${c.id}`, { is_active: false })).status).toBe(200);
    const acted = `SELECT count(*)::int AS n, count(ip)::int AS ips, count(user_agent)::int AS agents FROM audit_logs WHERE actor_id = $1 AND user_id = $2`;
    const [before] = (await t.db.dataSource.query(acted, [b.id, c.id])) as Array<{ n: number; ips: number; agents: number }>;
    expect(before.n).toBeGreaterThan(0);
    expect(before.agents).toBe(before.n);
    expect((await as(root.access_token).patch(`/api/admin/users/${b.id}`, { role: 'user' })).status).toBe(200);
    expect((await as(root.access_token).del(`/api/admin/users/${b.id}`)).status).toBe(204);
    const [after] = (await t.db.dataSource.query(acted, [b.id, c.id])) as Array<{ n: number; ips: number; agents: number }>;
    expect(after).toEqual({ n: before.n, ips: 0, agents: 0 });
  });

  it('erasing a user removes personal data and keys, stops everything, and keeps orders, payments and audit rows', async () => {
    const u = await t.register();
    const subId = await subscribe(t, u, 'pro');
    const bot = await createBot(t, u);
    const botId = bot.body.id as string;
    await t.request('POST', `/api/bots/${botId}/start`, { token: u.access_token });
    const hook = await generateWebhook(t, u, botId);
    const alert = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '50000', alert_id: `erase-${Date.now()}` });
    expect(alert.status).toBe(202);
    await t.request('POST', '/api/users/me/exchange', {
      token: u.access_token,
      body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
    });

    expect((await as(root.access_token).del(`/api/admin/users/${u.id}`)).status).toBe(204);

    const [user] = (await t.db.dataSource.query(`SELECT email, full_name, is_active, erased_at FROM users WHERE id = $1`, [u.id])) as Array<Record<string, unknown>>;
    expect(user).toMatchObject({ email: `erased-${u.id}@erased.invalid`, full_name: '', is_active: false });
    expect(user.erased_at).not.toBeNull();
    expect((await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(401);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
    expect(await t.db.dataSource.query(`SELECT 1 FROM exchange_credentials WHERE user_id = $1`, [u.id])).toEqual([]);
    const [b] = (await t.db.dataSource.query(`SELECT status, stop_reason FROM bots WHERE id = $1`, [botId])) as Array<Record<string, string>>;
    expect(b.status).toBe('stopped');
    const [sub] = (await t.db.dataSource.query(`SELECT status, end_reason FROM user_subscriptions WHERE id = $1`, [subId])) as Array<Record<string, string>>;
    expect(sub).toEqual({ status: 'cancelled', end_reason: 'account_erased' });
    // Financial rows stay, keyed by the same id.
    const [{ orders }] = await t.db.dataSource.query(`SELECT count(*)::int AS orders FROM orders WHERE user_id = $1`, [u.id]);
    expect(orders).toBe(1);
    const [{ before }] = await t.db.dataSource.query(`SELECT count(*)::int AS before FROM audit_logs WHERE user_id = $1 AND event_type = 'auth.register'`, [u.id]);
    expect(before).toBe(1);
    const audit = (await t.db.dataSource.query(`SELECT event_type, ip, user_agent, data::text AS data, actor_id FROM audit_logs WHERE user_id = $1`, [u.id])) as Array<
      Record<string, string | null>
    >;
    const erased = audit.find((r) => r.event_type === 'user.erased')!;
    expect(erased.actor_id).toBe(root.id);
    expect(erased.user_agent).toBe('admin-console/1.0');
    for (const row of audit.filter((r) => r.event_type !== 'user.erased')) {
      expect(row.ip).toBeNull();
      expect(row.user_agent).toBeNull();
      expect(row.data).not.toContain(u.email);
    }

    // Their sessions (each with the IP and user agent it was issued to) are gone, not only revoked.
    expect(await t.db.dataSource.query(`SELECT 1 FROM refresh_tokens WHERE user_id = $1`, [u.id])).toEqual([]);

    // An erased account cannot be changed back, and erasing again changes nothing.
    expect((await as(root.access_token).patch<{ code: string }>(`/api/admin/users/${u.id}`, { is_active: true })).body.code).toBe('user_erased');
    expect((await as(root.access_token).del(`/api/admin/users/${u.id}`)).status).toBe(204);
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE user_id = $1 AND event_type = 'user.erased'`, [u.id]);
    expect(n).toBe(1);
  });
});
