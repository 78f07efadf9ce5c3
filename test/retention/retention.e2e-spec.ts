import { randomUUID } from 'node:crypto';
import { RETENTION_SWEEP_LOCK_KEY, RetentionSweeper } from '@torgovo/core';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createBot, generateWebhook, sendAlert, subscribe } from '../custom-bots/support';

const DAY = 86_400_000;

describe('retention sweep (e2e: real PostgreSQL, the worker jobs in the api process)', () => {
  let t: TestApp;
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => t.db.dataSource.query(sql, params) as Promise<T[]>;
  const count = async (sql: string, params: unknown[] = []) => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n;

  beforeAll(async () => {
    t = await createTestApp({
      ...WORKER_JOBS_BY_HAND,
      RETENTION_BATCH: '2', // several batches per policy below
      WEBHOOK_EVENT_RETENTION_DAYS: '30',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('deletes old webhook events with their claims, expired claims, old provider events, expired refresh tokens and dead heartbeats; keeps the rest', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const bot = (await createBot(t, u, { sizing: { type: 'base', value: '0.001' } })).body.id as string;
    const hook = await generateWebhook(t, u, bot);
    const alert = (id: string | null, price: string) => ({ action: 'buy', ticker: 'BTCUSDT', price, quantity: '0.001', ...(id ? { alert_id: id } : {}) });

    const accepted: Record<string, string> = {};
    for (const id of ['old-1', 'old-2', 'old-3', 'recent-1']) {
      const res = await sendAlert(t, hook.webhook_secret, alert(id, '60000'));
      expect(res.status).toBe(202);
      accepted[id] = res.body.order_id as string;
    }
    const bodyHash = await sendAlert(t, hook.webhook_secret, alert(null, '61000')); // deduped by body hash for a short window
    expect(bodyHash.status).toBe(202);
    expect((await sendAlert(t, hook.webhook_secret, '{"action": ')).status).toBe(400); // rejected, logged

    // Age the log: the three old-* alerts and the rejected request are 31 days old.
    const oldOrders = ['old-1', 'old-2', 'old-3'].map((k) => accepted[k]);
    await q(`UPDATE webhook_events SET received_at = now() - interval '31 days' WHERE order_id = ANY($1::uuid[]) OR outcome = 'rejected'`, [oldOrders]);
    // The body-hash claim's window has passed; its event (today) stays.
    await q(`UPDATE webhook_dedupe SET expires_at = now() - interval '1 minute' WHERE expires_at IS NOT NULL`);

    // Provider events: one 100 days old, one recent. Refresh tokens: one expired 8 days ago.
    await q(`INSERT INTO processed_events (provider, event_id, type, received_at, outcome) VALUES ('stripe', $1, 'invoice.paid', now() - interval '100 days', 'handled'), ('stripe', $2, 'invoice.paid', now(), 'handled')`, [
      `evt_${randomUUID()}`,
      `evt_${randomUUID()}`,
    ]);
    // Outbox cancellations: one finished 100 days ago (goes), one finished today and one pending (stay).
    await q(
      `INSERT INTO stripe_cancel_outbox (stripe_subscription_id, subscription_id, reason, done_at) VALUES
         ('sub_done_old', gen_random_uuid(), 'period_ended', now() - interval '100 days'),
         ('sub_done_new', gen_random_uuid(), 'period_ended', now()),
         ('sub_pending', gen_random_uuid(), 'period_ended', NULL)`,
    );
    // Erased accounts' Stripe customers: the same rule.
    await q(
      `INSERT INTO stripe_customer_deletions (stripe_customer_id, user_id, reason, done_at, outcome) VALUES
         ('cus_done_old', $1, 'account_erased', now() - interval '100 days', 'deleted'),
         ('cus_done_new', $1, 'account_erased', now(), 'deleted'),
         ('cus_pending', $1, 'account_erased', NULL, NULL)`,
      [u.id],
    );
    const stale = await t.register();
    // E-mails: one sent 100 days ago (goes), one pending as old (stays: never sent yet).
    await q(
      `INSERT INTO notification_outbox (user_id, kind, dedupe_key, status, created_at) VALUES
         ($1, 'payment_confirmed', 'old-sent', 'sent', now() - interval '100 days'),
         ($1, 'payment_confirmed', 'old-pending', 'pending', now() - interval '100 days')`,
      [stale.id],
    );
    await q(`UPDATE refresh_tokens SET expires_at = now() - interval '8 days' WHERE user_id = $1`, [stale.id]);
    await q(`INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, beat_at) VALUES ('dead:1', 'dead', 1, now() - interval '3 days', now() - interval '2 days')`);
    // User events: older than USER_EVENTS_RETENTION_HOURS (48 h) go, unless a feed consumer has not read them yet.
    await q(`DELETE FROM user_events`);
    await q(
      `INSERT INTO user_events (user_id, type, entity_id, created_at) VALUES
         ($1, 'bot.updated', gen_random_uuid(), now() - interval '3 days'),
         ($1, 'bot.updated', gen_random_uuid(), now())`,
      [stale.id],
    );

    type Counters = { signals_received: number; orders_created: number; last_signal_at: string | null };
    const counters = async () => (await t.request<Counters>('GET', `/api/bots/${bot}`, { token: u.access_token })).body;
    const countersBefore = await counters();
    expect(countersBefore).toMatchObject({ signals_received: 6, orders_created: 5 });
    const before = { events: await count('webhook_events'), claims: await count('webhook_dedupe'), orders: await count('orders'), audit: await count('audit_logs') };
    const result = await t.app.get(RetentionSweeper).tick(new Date(Date.now() + 1000));
    expect(result).toEqual({
      worker_heartbeats: 1,
      refresh_tokens: 1,
      webhook_dedupe_expired: 1,
      webhook_events: 4, // three old alerts and the rejected request, in batches of 2
      processed_events: 1,
      stripe_cancel_outbox_done: 1,
      stripe_customer_deletions_done: 1,
      notification_outbox_done: 1,
      user_events: 1,
    });
    expect(await count('user_events')).toBe(1);
    expect((await q<{ k: string }>(`SELECT dedupe_key AS k FROM notification_outbox`)).map((r) => r.k)).toEqual(['old-pending']);

    expect(await count('webhook_events')).toBe(before.events - 4);
    expect(await count('webhook_dedupe')).toBe(before.claims - 4); // three alert_id claims + the expired body-hash claim
    expect(await count('webhook_dedupe d JOIN webhook_events e ON e.id = d.event_id')).toBe(await count('webhook_dedupe'));
    expect(await count('orders')).toBe(before.orders); // orders keep their history
    // The bot's lifetime counters lose nothing: what left the log was rolled up.
    expect(await counters()).toMatchObject({
      signals_received: countersBefore.signals_received,
      orders_created: countersBefore.orders_created,
      last_signal_at: countersBefore.last_signal_at,
    });
    // Running totals: every event counted once, when it was written (the sweep adds nothing).
    expect(await q(`SELECT signals_received::int AS s, orders_created::int AS o FROM bot_signal_rollups WHERE bot_id = $1`, [bot])).toEqual([{ s: 6, o: 5 }]);
    expect(await count('audit_logs')).toBe(before.audit);
    expect(await count('processed_events')).toBe(1);
    expect((await q<{ id: string }>(`SELECT stripe_subscription_id AS id FROM stripe_cancel_outbox ORDER BY 1`)).map((r) => r.id)).toEqual(['sub_done_new', 'sub_pending']);
    expect((await q<{ id: string }>(`SELECT stripe_customer_id AS id FROM stripe_customer_deletions ORDER BY 1`)).map((r) => r.id)).toEqual(['cus_done_new', 'cus_pending']);
    expect(await count(`worker_heartbeats WHERE worker_id = 'dead:1'`)).toBe(0);
    expect(await count('worker_heartbeats')).toBeGreaterThanOrEqual(1); // this process's own beat

    // A recent alert_id is still a duplicate; one past the retention window is a new alert.
    const recentAgain = await sendAlert(t, hook.webhook_secret, alert('recent-1', '60000'));
    expect({ status: recentAgain.status, order: recentAgain.body.order_id }).toEqual({ status: 200, order: accepted['recent-1'] });
    const oldAgain = await sendAlert(t, hook.webhook_secret, alert('old-1', '60000'));
    expect(oldAgain.status).toBe(202);
    expect(oldAgain.body.order_id).not.toBe(accepted['old-1']);

    expect(await counters()).toMatchObject({ signals_received: countersBefore.signals_received + 2, orders_created: countersBefore.orders_created + 1 });

    // The user's refresh token still works; the expired one is gone and refused.
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(200);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: stale.refresh_token } })).status).toBe(401);

    // A second sweep finds nothing.
    const again = await t.app.get(RetentionSweeper).tick(new Date(Date.now() + DAY / 24));
    expect(Object.values(again ?? {}).every((n) => n === 0)).toBe(true);
  });

  it('skips the sweep while another replica holds the lock', async () => {
    const other = t.db.dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [RETENTION_SWEEP_LOCK_KEY]);
      await expect(t.app.get(RetentionSweeper).tick()).resolves.toBeNull();
      await other.query('SELECT pg_advisory_unlock($1)', [RETENTION_SWEEP_LOCK_KEY]);
      await expect(t.app.get(RetentionSweeper).tick()).resolves.not.toBeNull();
    } finally {
      await other.release();
    }
  });
});
