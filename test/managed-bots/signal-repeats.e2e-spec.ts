import { DataSource } from 'typeorm';
import { sha256Hex } from '@torgovo/core';
import { ManagedSignalContentKey1766700000000 } from '../../migrations/1766700000000-ManagedSignalContentKey';
import { lockWaiters } from '../support/lock-waiters';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { seedFollowers } from './seed-followers';
import { createManagedBot, follow, managedSubscriber, signal } from './support';

const WINDOW_SECONDS = 30;
type Accepted = { signal_id: string; orders_created: number; duplicate: boolean };

/**
 * A managed signal sent without a signal_id (or an alert without alert_id) is a repeat only of the
 * same content accepted within MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS — a sender's retries; after it the
 * same content is a new signal and trades again. A signal_id is a repeat forever. Through the admin API
 * and the bot's own webhook; "after the window" is the first signal's row made older than the window.
 */
describe('managed signals: repeats without a signal_id (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, LOG_LEVEL: 'warn', MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS: String(WINDOW_SECONDS) });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(() => t?.close());

  const orders = async (botId: string): Promise<number> => (await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1`, [botId]))[0].n;
  const stored = async (botId: string): Promise<string[]> =>
    ((await ds.query(`SELECT signal_id FROM managed_bot_signals WHERE managed_bot_id = $1 ORDER BY created_at`, [botId])) as Array<{ signal_id: string }>).map((r) => r.signal_id);
  /** The bot's signals were accepted `seconds` earlier than they were (and its follows started as much earlier, so reports still list them). */
  async function age(botId: string, seconds: number): Promise<void> {
    await ds.query(`UPDATE managed_bot_signals SET created_at = created_at - make_interval(secs => $2) WHERE managed_bot_id = $1`, [botId, seconds]);
    await ds.query(`UPDATE managed_bot_follows SET started_at = started_at - make_interval(secs => $2) WHERE managed_bot_id = $1`, [botId, seconds]);
  }

  async function webhookPath(botId: string): Promise<string> {
    const hook = await t.request<{ webhook_url: string }>('POST', `/api/managed-bots/${botId}/webhook`, { token: admin.access_token });
    expect(hook.status).toBe(201);
    return new URL(hook.body.webhook_url).pathname;
  }

  async function alert(path: string, body: Record<string, unknown>): Promise<Accepted> {
    const res = await t.request<Accepted>('POST', path, { body });
    expect(res.status).toBe(202);
    return res.body;
  }

  it('the admin API: the same id-less body twice within the window is one signal; after the window it trades again, under a signal_id of its own', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '1000' });
    await seedFollowers(ds, botId, 2, { tag: 'repeat-api' });
    const body = { action: 'buy', fraction: '0.25', price: '65000' };

    const first = await signal(t, admin, botId, body);
    expect(first).toMatchObject({ orders_created: 3, duplicate: false });
    // A retry inside the window: the first signal again (its stored signal_id), nothing created.
    expect(await signal(t, admin, botId, body)).toEqual({ signal_id: first.signal_id, orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(3);
    expect(await stored(botId)).toEqual([first.signal_id]);

    // Tomorrow, the same body: a new signal, orders for every follower again.
    await age(botId, WINDOW_SECONDS + 1);
    const later = await signal(t, admin, botId, body);
    expect(later).toMatchObject({ orders_created: 3, duplicate: false });
    expect(later.signal_id).not.toBe(first.signal_id);
    expect(await orders(botId)).toBe(6);
    expect(await stored(botId)).toEqual([first.signal_id, later.signal_id]);
    // Its own retry is a repeat of it, not of the first.
    expect(await signal(t, admin, botId, body)).toEqual({ signal_id: later.signal_id, orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(6);

    // The follower's truth report lists both lead trades, each with its own order.
    const report = await t.request<{ items: Array<{ signal_id: string; order_id: string | null }> }>('GET', `/api/managed-bot/${botId}/trades`, { token: u.access_token });
    expect(report.status).toBe(200);
    expect(report.body.items.map((i) => i.signal_id).sort()).toEqual([first.signal_id, later.signal_id].sort());
    expect(report.body.items.every((i) => i.order_id !== null)).toBe(true);
    // Both repeats and both signals were audited, each with the signal_id it answered.
    const audited = (await ds.query(`SELECT data FROM audit_logs WHERE event_type = 'managed_bot.signal' AND data->>'managed_bot_id' = $1 ORDER BY created_at`, [botId])) as Array<{
      data: Accepted;
    }>;
    expect(audited.map((a) => [a.data.signal_id, a.data.duplicate])).toEqual([
      [first.signal_id, false],
      [first.signal_id, true],
      [later.signal_id, false],
      [later.signal_id, true],
    ]);
  });

  it('the bot\'s webhook: an alert without alert_id repeated within the window is one signal; after it, a new one', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 3, { tag: 'repeat-hook' });
    const path = await webhookPath(botId);
    const body = { action: 'long', ticker: 'OKX:BTCUSDT', fraction: '0.1', price: '65000' };

    const first = await alert(path, body);
    expect(first).toMatchObject({ orders_created: 3, duplicate: false });
    expect(await alert(path, body)).toEqual({ signal_id: first.signal_id, orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(3);

    await age(botId, WINDOW_SECONDS + 1);
    const later = await alert(path, body);
    expect(later).toMatchObject({ orders_created: 3, duplicate: false });
    expect(later.signal_id).not.toBe(first.signal_id);
    expect(await orders(botId)).toBe(6);
    expect(await stored(botId)).toEqual([first.signal_id, later.signal_id]);
  });

  it('other content within the window is another signal: a different fraction, price or action trades', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 2, { tag: 'repeat-other' });
    const a = await signal(t, admin, botId, { action: 'buy', fraction: '0.25', price: '65000' });
    const b = await signal(t, admin, botId, { action: 'buy', fraction: '0.2', price: '65000' });
    const c = await signal(t, admin, botId, { action: 'buy', fraction: '0.25', price: '65001' });
    expect([a, b, c].map((r) => [r.orders_created, r.duplicate])).toEqual([
      [2, false],
      [2, false],
      [2, false],
    ]);
    expect(new Set([a.signal_id, b.signal_id, c.signal_id]).size).toBe(3);
  });

  it('with a signal_id (or alert_id), a repeat is a duplicate however long after', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 2, { tag: 'repeat-id' });
    const path = await webhookPath(botId);
    const body = { action: 'buy', fraction: '0.25', price: '65000', signal_id: 'lead-2026-11-25-1' };
    const hookBody = { action: 'long', ticker: 'BTCUSDT', fraction: '0.1', price: '65000', alert_id: '2026-11-25T10:00:00Z-7' };
    expect(await signal(t, admin, botId, body)).toEqual({ signal_id: 'lead-2026-11-25-1', orders_created: 2, duplicate: false });
    expect(await alert(path, hookBody)).toEqual({ signal_id: '2026-11-25T10:00:00Z-7', orders_created: 2, duplicate: false });

    await age(botId, 86_400 * 30);
    expect(await signal(t, admin, botId, body)).toEqual({ signal_id: 'lead-2026-11-25-1', orders_created: 0, duplicate: true });
    expect(await alert(path, hookBody)).toEqual({ signal_id: '2026-11-25T10:00:00Z-7', orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(4);
    expect(await stored(botId)).toEqual(['lead-2026-11-25-1', '2026-11-25T10:00:00Z-7']);
  });

  it('the migration: a signal stored under the old `h:<content hash>` id is recognised within the window across the deploy, and not after it', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 2, { tag: 'repeat-migration' });
    const old = (fraction: string) => `h:${sha256Hex(JSON.stringify(['buy', 'BTC/USDT', fraction, '65000']))}`;
    const migration = new ManagedSignalContentKey1766700000000();
    const qr = ds.createQueryRunner();
    try {
      await qr.startTransaction();
      await migration.down(qr);
      // As the old code stored id-less signals: one just now, one yesterday; and a sender's own id shaped otherwise.
      await qr.query(
        `INSERT INTO managed_bot_signals (managed_bot_id, signal_id, source, action, symbol, fraction, price, created_at)
         VALUES ($1, $2, 'api', 'buy', 'BTC/USDT', 0.25, 65000, now()), ($1, $3, 'api', 'buy', 'BTC/USDT', 0.2, 65000, now() - interval '1 day'),
                ($1, 'h:not-a-hash', 'api', 'buy', 'BTC/USDT', 0.1, 65000, now())`,
        [botId, old('0.25'), old('0.2')],
      );
      await migration.up(qr);
      await qr.commitTransaction();
    } finally {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      await qr.release();
    }
    const keys = (await ds.query(`SELECT signal_id, content_key FROM managed_bot_signals WHERE managed_bot_id = $1 ORDER BY fraction DESC`, [botId])) as Array<{ signal_id: string; content_key: string | null }>;
    expect(keys).toEqual([
      { signal_id: old('0.25'), content_key: old('0.25').slice(2) },
      { signal_id: old('0.2'), content_key: old('0.2').slice(2) },
      { signal_id: 'h:not-a-hash', content_key: null },
    ]);
    // The retry of the signal accepted just before the deploy: a repeat, answered with its stored id.
    expect(await signal(t, admin, botId, { action: 'buy', fraction: '0.25', price: '65000' })).toEqual({ signal_id: old('0.25'), orders_created: 0, duplicate: true });
    // Yesterday's content today: a new signal (the old code answered it duplicate forever).
    expect(await signal(t, admin, botId, { action: 'buy', fraction: '0.2', price: '65000' })).toMatchObject({ orders_created: 2, duplicate: false });
  });


  /**
   * "The first signal's fan-out statement is under way (not committed), then an identical copy arrives
   * and would read the window, then the first commits, then the copy's effect." The copy must find the
   * first, not write a second set of orders. The first is held inside its statement, before any commit
   * whatever its transaction: the test holds the managed bot's row FOR UPDATE, which the signal and
   * order inserts' foreign-key checks (FOR KEY SHARE) wait for.
   */
  async function heldFirst(botId: string, send: () => Promise<HttpResult<Accepted>>): Promise<[HttpResult<Accepted>, HttpResult<Accepted>]> {
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      // A follower's user row: only the orders' foreign-key check inside the fan-out statement needs it,
      // so the first signal is held after its content lock (and, on the webhook, after the issuer check,
      // which share-locks the bot's row), inside the statement that reads the window and writes.
      await qr.query(
        `SELECT 1 FROM users WHERE id = (SELECT user_id FROM managed_bot_follows WHERE managed_bot_id = $1 AND status = 'active' ORDER BY user_id LIMIT 1) FOR UPDATE`,
        [botId],
      );
      const first = send();
      await lockWaiters(ds, 1);
      const copy = send();
      // The copy is waiting too: for the first's advisory lock (the fix), or, without it, inside its own statement.
      await lockWaiters(ds, 2);
      await qr.commitTransaction();
      return [await first, await copy];
    } finally {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      await qr.release();
    }
  }

  it('two identical id-less signals at once (the admin API): orders once, both answered with the one stored signal_id', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 3, { tag: 'race-api' });
    const body = { action: 'buy', symbol: 'BTC/USDT', fraction: '0.3', price: '65000' };
    const [first, copy] = await heldFirst(botId, () => t.request<Accepted>('POST', `/api/managed-bots/${botId}/signals`, { token: admin.access_token, body }));
    expect([first.status, copy.status]).toEqual([202, 202]);
    expect(first.body).toMatchObject({ orders_created: 3, duplicate: false });
    expect(copy.body).toEqual({ signal_id: first.body.signal_id, orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(3);
    expect(await stored(botId)).toEqual([first.body.signal_id]);
  });

  it('two identical alerts without alert_id at once (the bot\'s webhook): orders once', async () => {
    const botId = await createManagedBot(t, admin);
    await seedFollowers(ds, botId, 3, { tag: 'race-hook' });
    const path = await webhookPath(botId);
    const body = { action: 'long', ticker: 'BTCUSDT', fraction: '0.3', price: '65000' };
    const [first, copy] = await heldFirst(botId, () => t.request<Accepted>('POST', path, { body }));
    expect([first.status, copy.status]).toEqual([202, 202]);
    expect(first.body).toMatchObject({ orders_created: 3, duplicate: false });
    expect(copy.body).toEqual({ signal_id: first.body.signal_id, orders_created: 0, duplicate: true });
    expect(await orders(botId)).toBe(3);
    expect(await stored(botId)).toEqual([first.body.signal_id]);
  });
});
