import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { UsersService } from '@torgovo/users';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { LogCapture } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';

// Two api replicas deployed together with ADMIN_EMAIL/ADMIN_PASSWORD boot on one database at the
// same moment: both must start, and there is exactly one admin row and one admin.created audit row.
describe('first admin across replicas', () => {
  let db: TestDatabase;
  const apps: NestFastifyApplication[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    process.env = saved;
    await db?.drop();
  });

  it('two replicas booting at once both start, with one admin', async () => {
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      WORKER_ENABLED: 'false',
      DATABASE_POOL_SIZE: '3',
      ADMIN_EMAIL: 'Boot@Example.com',
      ADMIN_PASSWORD: 'boot-password-123',
    });
    const boot = async () => {
      const app = await createApiApp({ logging: { destination: new LogCapture() } });
      apps.push(app);
      await app.init();
      return app;
    };
    const results = await Promise.allSettled([boot(), boot()]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const rows = (await db.dataSource.query(`SELECT role, is_active FROM users WHERE lower(email) = 'boot@example.com'`)) as Array<{ role: string }>;
    expect(rows).toEqual([{ role: 'admin', is_active: true }]);
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'admin.created'`);
    expect(n).toBe(1);
  }, 120_000);

  it('concurrent ensureAdmin calls for a new email (replicas and the CLI at once) create one admin and never throw', async () => {
    const [a, b] = apps.map((app) => app.get(UsersService));
    const calls = [a, b, a, b].map((users) => users.ensureAdmin('race@example.com', 'race-password-123', 'env'));
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const created = results.map((r) => (r.status === 'fulfilled' ? r.value.created : null));
    expect(created.filter(Boolean)).toHaveLength(1);
    const ids = new Set(results.map((r) => (r.status === 'fulfilled' ? r.value.id : null)));
    expect(ids.size).toBe(1);
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE lower(email) = 'race@example.com'`);
    expect(n).toBe(1);
  });
});
