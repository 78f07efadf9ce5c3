import { AdminBootstrap } from '../../apps/api/src/admin-bootstrap';
import { createTestApp, TestApp } from '../support/app';
import { runCli } from '../support/cli';

describe('first admin and admin-only docs (production mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ NODE_ENV: 'production', ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'root-password-123' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates the admin from ADMIN_EMAIL/ADMIN_PASSWORD at start', async () => {
    const res = await t.request<{ user: { role: string } }>('POST', '/api/auth/login', { body: { email: 'root@example.com', password: 'root-password-123' } });
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe('admin');
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'admin.created'`);
    expect(n).toBe(1);
  });

  it('puts /docs and /docs-json behind an admin login in production', async () => {
    expect((await fetch(`${t.url}/docs-json`)).status).toBe(401);
    expect((await fetch(`${t.url}/docs`)).status).toBe(401);
    const user = await t.register();
    const asUser = await fetch(`${t.url}/docs-json`, { headers: { authorization: `Basic ${Buffer.from(`${user.email}:${user.password}`).toString('base64')}` } });
    expect(asUser.status).toBe(401);
    const asAdmin = await fetch(`${t.url}/docs-json`, { headers: { authorization: `Basic ${Buffer.from('root@example.com:root-password-123').toString('base64')}` } });
    expect(asAdmin.status).toBe(200);
    expect(((await asAdmin.json()) as { openapi: string }).openapi).toMatch(/^3\./);
  });

  it('`cli create-admin` promotes an existing account and creates a new one', async () => {
    const user = await t.register();
    const cli = (...args: string[]) => runCli(t, args, { ADMIN_PASSWORD: 'cli-admin-password' });
    const promoted = await cli('create-admin', '--email', user.email);
    expect(promoted.stdout).toContain('is now an admin');
    const created = await cli('create-admin', '--email', 'second-admin@example.com');
    expect(created.stdout).toContain('Admin created');
    const rows = (await t.db.dataSource.query(`SELECT email, role FROM users WHERE email IN ($1, 'second-admin@example.com') ORDER BY email`, [user.email])) as Array<{ role: string }>;
    expect(rows.map((r) => r.role)).toEqual(['admin', 'admin']);
    // The operator's act, recorded as the system's (before: as the promoted account's own act).
    const audit = (await t.db.dataSource.query(`SELECT actor_id, data FROM audit_logs WHERE user_id = $1 AND event_type = 'admin.promoted'`, [user.id])) as unknown[];
    expect(audit).toEqual([{ actor_id: null, data: { source: 'cli', from_role: 'user' } }]);
    await expect(cli('create-admin')).rejects.toMatchObject({ code: 1 });
  }, 120_000);

  it('ADMIN_EMAIL\'s admin deactivated by another admin → a replica restarts with ADMIN_EMAIL still set: the account stays deactivated and is not an admin again', async () => {
    const cli = (...args: string[]) => runCli(t, args, { ADMIN_PASSWORD: 'other-admin-password' });
    await cli('create-admin', '--email', 'other-admin@example.com');
    const other = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: 'other-admin@example.com', password: 'other-admin-password' } });
    const [root] = (await t.db.dataSource.query(`SELECT id FROM users WHERE lower(email) = 'root@example.com'`)) as Array<{ id: string }>;
    const off = await t.request('PATCH', `/api/admin/users/${root.id}`, { token: other.body.access_token, body: { is_active: false, role: 'user' } });
    expect(off.status).toBe(200);
    // What every api start runs (ADMIN_EMAIL/ADMIN_PASSWORD unchanged). Before: role admin and active again.
    await t.app.get(AdminBootstrap).onApplicationBootstrap();
    const [after] = (await t.db.dataSource.query(`SELECT role, is_active FROM users WHERE id = $1`, [root.id])) as Array<{ role: string; is_active: boolean }>;
    expect(after).toEqual({ role: 'user', is_active: false });
    expect((await t.request('POST', '/api/auth/login', { body: { email: 'root@example.com', password: 'root-password-123' } })).status).toBe(401);
    // The operator's explicit act still restores it.
    await runCli(t, ['create-admin', '--email', 'root@example.com'], { ADMIN_PASSWORD: 'ignored-for-an-existing-account' });
    const [restored] = (await t.db.dataSource.query(`SELECT role, is_active FROM users WHERE id = $1`, [root.id])) as Array<{ role: string; is_active: boolean }>;
    expect(restored).toEqual({ role: 'admin', is_active: true });
  }, 120_000);
});
