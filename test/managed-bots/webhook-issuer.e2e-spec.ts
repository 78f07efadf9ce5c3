import { SignalFanoutService } from '@torgovo/managed-bots';
import { DataSource } from 'typeorm';
import { ManagedBotsWebhookIssuedBy1766650000000 } from '../../migrations/1766650000000-ManagedBotsWebhookIssuedBy';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { lockWaiters } from '../support/lock-waiters';
import { pauseOnce } from '../support/pause-once';
import { seedFollowers } from './seed-followers';
import { createManagedBot } from './support';

type Admin = { id: string; access_token: string };
type Removal = 'demoted' | 'deactivated' | 'erased';

/**
 * "Admin B issues a managed bot's webhook secret, then B stops being an admin (demoted, deactivated,
 * erased), then a signal to that secret." The secret trades every follower on B's authority: from
 * the moment B's removal commits it answers what an unknown secret answers (404), and writes no
 * signal and no order — whether the removal came before the alert arrived or while it was already
 * past the receive path's lookup, on its way to the fan-out.
 */
describe('managed bots: the webhook secret trades only while its issuer is an admin (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let root: Admin;
  let seq = 0;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    root = await t.admin();
  });
  afterAll(() => t?.close());
  afterEach(() => jest.restoreAllMocks());

  /** A managed bot with two paper followers and a webhook secret issued by `issuer`. */
  async function botWithSecret(issuer: Admin): Promise<{ botId: string; secret: string }> {
    const botId = await createManagedBot(t, root);
    await seedFollowers(ds, botId, 2, { tag: `issuer-${(seq += 1)}` });
    return { botId, secret: await rotate(issuer, botId) };
  }

  async function rotate(admin: Admin, botId: string): Promise<string> {
    const res = await t.request<{ webhook_secret: string }>('POST', `/api/managed-bots/${botId}/webhook`, { token: admin.access_token });
    expect(res.status).toBe(201);
    return res.body.webhook_secret;
  }

  const alert = () => ({ action: 'buy', ticker: 'OKX:BTCUSDT', fraction: '0.1', price: '65000', alert_id: `issuer-alert-${(seq += 1)}` });
  const send = (secret: string, body: Record<string, unknown> = alert()) => t.request('POST', `/api/managed-bot/webhook/receive/${secret}`, { body });

  async function remove(b: Admin, how: Removal): Promise<void> {
    const res =
      how === 'erased'
        ? await t.request('DELETE', `/api/admin/users/${b.id}`, { token: root.access_token })
        : await t.request('PATCH', `/api/admin/users/${b.id}`, { token: root.access_token, body: how === 'demoted' ? { role: 'user' } : { is_active: false } });
    expect(res.status).toBe(how === 'erased' ? 204 : 200);
  }

  async function written(botId: string): Promise<{ signals: number; orders: number }> {
    const [{ signals, orders }] = (await ds.query(
      `SELECT (SELECT count(*)::int FROM managed_bot_signals WHERE managed_bot_id = $1) AS signals, (SELECT count(*)::int FROM orders WHERE managed_bot_id = $1) AS orders`,
      [botId],
    )) as Array<{ signals: number; orders: number }>;
    return { signals, orders };
  }

  /** What an unknown secret answers, minus the request id. */
  async function unknownSecretAnswer(): Promise<[number, unknown]> {
    const res = await send('no-such-secret-0123456789abcdefghijklmnopqrstu');
    return [res.status, withoutRequestId(res)];
  }
  const withoutRequestId = (res: HttpResult): unknown => {
    const { request_id: _ignored, ...rest } = res.body as Record<string, unknown>;
    return rest;
  };

  function refusalLogged(botId: string, secret: string, reason: string): void {
    const lines = t.logs.lines.filter((l) => l.includes(botId) && l.includes('Managed webhook refused'));
    expect(lines.some((l) => l.includes(`"reason":"${reason}"`))).toBe(true);
    expect(t.logs.lines.some((l) => l.includes(secret))).toBe(false);
  }

  it.each<Removal>(['demoted', 'deactivated', 'erased'])('B issues the secret, then B is %s, then an alert: 404 as an unknown secret, no signal, no order', async (how) => {
    const b = await t.admin();
    const { botId, secret } = await botWithSecret(b);
    await remove(b, how);
    const res = await send(secret);
    expect([res.status, withoutRequestId(res)]).toEqual(await unknownSecretAnswer());
    expect(await written(botId)).toEqual({ signals: 0, orders: 0 });
    refusalLogged(botId, secret, 'issuer_not_admin');
  });

  it.each<Removal>(['demoted', 'deactivated', 'erased'])(
    'an alert past the receive lookup, then B is %s, then the fan-out: 404 as an unknown secret, no signal, no order',
    async (how) => {
      const b = await t.admin();
      const { botId, secret } = await botWithSecret(b);
      const pause = pauseOnce(t.app.get(SignalFanoutService), 'accept', 'before');
      try {
        const answer = send(secret);
        await pause.reached;
        await remove(b, how);
        pause.release();
        const res = await answer;
        expect([res.status, withoutRequestId(res)]).toEqual(await unknownSecretAnswer());
      } finally {
        pause.release();
      }
      expect(await written(botId)).toEqual({ signals: 0, orders: 0 });
      refusalLogged(botId, secret, 'issuer_not_admin');
    },
  );


  it.each<Removal>(['demoted', 'deactivated', 'erased'])(
    'the fan-out has checked its issuer and is writing the orders, then B is %s: the removal waits for the signal to commit (the issuer is held, not only read), then the secret is 404',
    async (how) => {
      const b = await t.admin();
      const { botId, secret } = await botWithSecret(b);
      const qr = ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      let removal: Promise<void> | undefined;
      let removed = false;
      try {
        // A follower's row: only the orders' foreign-key check needs it, so the signal is held inside
        // its fan-out statement, after the issuer check of its transaction.
        await qr.query(
          `SELECT 1 FROM users WHERE id = (SELECT user_id FROM managed_bot_follows WHERE managed_bot_id = $1 AND status = 'active' ORDER BY user_id LIMIT 1) FOR UPDATE`,
          [botId],
        );
        const answer = send(secret);
        await lockWaiters(ds, 1);
        removal = remove(b, how).then(() => {
          removed = true;
        });
        // The removal queues behind the signal's share lock on B's row instead of committing under it.
        await lockWaiters(ds, 2);
        expect(removed).toBe(false);
        await qr.commitTransaction();
        const res = await answer;
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({ orders_created: 2, duplicate: false });
        await removal;
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        await qr.release();
        await removal?.catch(() => undefined);
      }
      expect(await written(botId)).toEqual({ signals: 1, orders: 2 });
      expect((await send(secret)).status).toBe(404);
    },
  );

  it('a current admin\'s secret trades; re-issued by another admin after the issuer\'s demotion, the new secret trades and the old one is 404', async () => {
    const b = await t.admin();
    const c = await t.admin();
    const { botId, secret } = await botWithSecret(b);
    const first = await send(secret);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ orders_created: 2, duplicate: false });

    await remove(b, 'demoted');
    expect((await send(secret)).status).toBe(404);
    const reissued = await rotate(c, botId);
    expect((await ds.query(`SELECT webhook_issued_by FROM managed_bots WHERE id = $1`, [botId]))[0].webhook_issued_by).toBe(c.id);
    const again = await send(reissued);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ orders_created: 2, duplicate: false });
    expect((await send(secret)).status).toBe(404);
    expect(await written(botId)).toEqual({ signals: 2, orders: 4 });
  });

  // Last: it drops and re-adds the column in this file's database, as the migration does on a database from before it.
  it('the migration backfills the issuer of a secret issued before the column from its rotation audit row; a secret with no known issuer is 404 until re-issued', async () => {
    const b = await t.admin();
    const c = await t.admin();
    const byB = await botWithSecret(b);
    const byBThenC = await botWithSecret(b);
    const latest = await rotate(c, byBThenC.botId);
    const unknownIssuer = await createManagedBot(t, root);
    await seedFollowers(ds, unknownIssuer, 2, { tag: 'issuer-unknown' });
    // A secret whose rotation left no audit row (none is written without one today): no known issuer.
    const orphan = 'orphan-secret-0123456789abcdefghijklmnopqrstuvw';
    await ds.query(`UPDATE managed_bots SET webhook_secret_hash = encode(sha256(convert_to($2, 'UTF8')), 'hex') WHERE id = $1`, [unknownIssuer, orphan]);

    const migration = new ManagedBotsWebhookIssuedBy1766650000000();
    const q = ds.createQueryRunner();
    try {
      await migration.down(q);
      await migration.up(q);
    } finally {
      await q.release();
    }
    const issuers = (await ds.query(`SELECT id, webhook_issued_by FROM managed_bots WHERE id = ANY($1::uuid[])`, [[byB.botId, byBThenC.botId, unknownIssuer]])) as Array<{
      id: string;
      webhook_issued_by: string | null;
    }>;
    expect(Object.fromEntries(issuers.map((r) => [r.id, r.webhook_issued_by]))).toEqual({ [byB.botId]: b.id, [byBThenC.botId]: c.id, [unknownIssuer]: null });

    expect((await send(byB.secret)).status).toBe(202);
    expect((await send(latest)).status).toBe(202);
    expect((await send(orphan)).status).toBe(404);
    refusalLogged(unknownIssuer, orphan, 'no_known_issuer');
    expect(await written(unknownIssuer)).toEqual({ signals: 0, orders: 0 });
    // Backfilled, the issuer still counts: B demoted, B's secret stops.
    await remove(b, 'demoted');
    expect((await send(byB.secret)).status).toBe(404);
    // Re-issued by a current admin, the bot's webhook trades again.
    expect((await send(await rotate(root, unknownIssuer))).status).toBe(202);
    expect(await written(unknownIssuer)).toEqual({ signals: 1, orders: 2 });
  });
});
