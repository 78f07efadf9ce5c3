import { EntitlementsService } from '@torgovo/subscriptions';
import type { TestApp } from '../support/app';
import { pauseOnce } from '../support/pause-once';
import { runCli } from '../support/cli';
import { createBot, generateWebhook, LiveExchangeHarness, liveExchangeHarness, sendAlert, subscribe, TestUser } from './support';

describe('bots stop when the user disconnects the exchange or is deactivated (e2e: real PostgreSQL, fake OKX)', () => {
  let h: LiveExchangeHarness;
  let t: TestApp;

  beforeAll(async () => {
    h = await liveExchangeHarness('disc');
    t = h.t;
  });
  afterAll(async () => {
    await h?.close();
  });

  const connect = (u: TestUser): Promise<void> => h.connect(u);
  const bot = async (u: TestUser, id: string) => (await t.request<{ status: string; stop_reason: string | null }>('GET', `/api/bots/${id}`, { token: u.access_token })).body;

  it("stops the user's running live bots with the reason, leaves paper bots and other users alone, and audits it", async () => {
    const [u, other] = [await t.register(), await t.register()];
    for (const x of [u, other]) {
      await subscribe(t, x, 'pro');
      await connect(x);
    }
    const live = (await createBot(t, u, { mode: 'live', name: 'live' })).body.id as string;
    const paper = (await createBot(t, u, { mode: 'paper', name: 'paper' })).body.id as string;
    const othersLive = (await createBot(t, other, { mode: 'live', name: 'theirs' })).body.id as string;
    const hook = await generateWebhook(t, u, live);
    // Queued, not yet claimed by a worker (none runs here): one live order, one paper order.
    const queuedLive = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001' });
    const paperHook = await generateWebhook(t, u, paper);
    const queuedPaper = await sendAlert(t, paperHook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001' });
    expect([queuedLive.status, queuedPaper.status]).toEqual([202, 202]);

    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
    expect(await bot(u, live)).toMatchObject({ status: 'stopped', stop_reason: 'exchange_disconnected' });
    const orderState = async (id: string) =>
      ((await t.db.dataSource.query(`SELECT status, reason FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string | null }>)[0];
    // Orders are not edited by the disconnect: the executor's placement rule cancels the live one when
    // its turn comes (test/orders/placement-rule.e2e-spec.ts), after a look-up if it may have been sent.
    expect(await orderState(queuedLive.body.order_id as string)).toEqual({ status: 'pending', reason: null });
    expect(await orderState(queuedPaper.body.order_id as string)).toEqual({ status: 'pending', reason: null });
    expect(await bot(u, paper)).toMatchObject({ status: 'running', stop_reason: null });
    expect(await bot(other, othersLive)).toMatchObject({ status: 'running' });

    // An alert for the stopped bot is refused with the reason and makes no order.
    const refused = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001' });
    expect(refused.status).toBe(403);
    const orders = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM orders WHERE bot_id = $1`, [live])) as Array<{ n: number }>;
    expect(orders[0].n).toBe(1); // only the one queued before the disconnect

    const audit = (await t.db.dataSource.query(`SELECT data FROM audit_logs WHERE user_id = $1 AND event_type = 'exchange.disconnected'`, [u.id])) as Array<{ data: unknown }>;
    expect(audit).toEqual([{ data: { exchange: 'okx' } }]);

    // A second DELETE is a no-op (204), audits nothing more; reconnecting lets the bot start again.
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
    await connect(u);
    const started = await t.request('POST', `/api/bots/${live}/start`, { token: u.access_token });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: 'running', stop_reason: null });
  });

  it('`cli deactivate-user`: login and refresh refused, the access token dies, every bot stops, alerts are refused; `activate-user` restores login only', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    await connect(u);
    const live = (await createBot(t, u, { mode: 'live', name: 'live' })).body.id as string;
    const paper = (await createBot(t, u, { mode: 'paper', name: 'paper' })).body.id as string;
    const hook = await generateWebhook(t, u, paper);
    const queued = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001' });
    expect(queued.status).toBe(202);

    const off = await runCli(t, ['deactivate-user', '--email', u.email.toUpperCase()]);
    const [order] = (await t.db.dataSource.query(`SELECT status, reason FROM orders WHERE id = $1`, [queued.body.order_id])) as unknown[];
    expect(order).toEqual({ status: 'pending', reason: null }); // left to the executor's placement rule
    expect(off.stdout).toContain('is deactivated');
    for (const id of [live, paper]) {
      const row = (await t.db.dataSource.query(`SELECT status, stop_reason FROM bots WHERE id = $1`, [id])) as Array<{ status: string; stop_reason: string }>;
      expect(row[0]).toEqual({ status: 'stopped', stop_reason: 'user_deactivated' });
    }
    expect((await t.request('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(401);
    expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(401);
    const refused = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001' });
    expect(refused.status).toBe(403);
    const audit = (await t.db.dataSource.query(`SELECT actor_id, data FROM audit_logs WHERE user_id = $1 AND event_type = 'user.deactivated'`, [u.id])) as unknown[];
    expect(audit).toEqual([{ actor_id: null, data: { source: 'cli' } }]);
    expect((await runCli(t, ['deactivate-user', '--email', u.email])).stdout).toContain('(it already was)');

    expect((await runCli(t, ['activate-user', '--email', u.email])).stdout).toContain('is active');
    const login = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(200);
    const bots = await t.request<{ items: Array<{ status: string }> }>('GET', '/api/bots', { token: login.body.access_token });
    expect(bots.body.items.map((b) => b.status)).toEqual(['stopped', 'stopped']);
    expect((await t.request('POST', `/api/bots/${paper}/start`, { token: login.body.access_token })).status).toBe(200);

    await expect(runCli(t, ['deactivate-user', '--email', 'nobody@example.com'])).rejects.toMatchObject({ code: 1 });
  }, 120_000);

  it.each(['subscription cancelled', 'user deactivated', 'exchange disconnected'] as const)(
    'a start reads the rules, then the %s commits, then the start writes: the bot ends stopped (the change waits for the start, or the start sees it)',
    async (change) => {
      const u = await t.register();
      await subscribe(t, u, 'pro');
      await connect(u);
      const id = (await createBot(t, u, { mode: 'live', name: 'late start' })).body.id as string;
      expect((await t.request('POST', `/api/bots/${id}/stop`, { token: u.access_token })).status).toBe(200);
      const admin = await t.admin();
      // The interleaving: the start's real entitlement check passes, then waits until the change has been sent.
      const check = pauseOnce(t.app.get(EntitlementsService), 'assertCanRunBot');
      try {
        const starting = t.request('POST', `/api/bots/${id}/start`, { token: u.access_token });
        await check.reached;
        let changing: Promise<{ status: number }>;
        if (change === 'subscription cancelled') {
          const subs = await t.request<{ custom_bot: { id: string } }>('GET', '/api/subscriptions/my-subscription', { token: u.access_token });
          changing = t.request('DELETE', `/api/subscriptions/${subs.body.custom_bot.id}`, { token: u.access_token });
        } else if (change === 'user deactivated') {
          changing = t.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active: false } });
        } else changing = t.request('DELETE', '/api/users/me/exchange', { token: u.access_token });
        await new Promise((r) => setTimeout(r, 400));
        check.release();
        const [started, changed] = await Promise.all([starting, changing]);
        expect(started.status).toBe(200);
        expect([200, 204]).toContain(changed.status);
        // Before: the change stopped the user's running bots while this one was still stopped, then the
        // start committed it running — to trade again, unstarted, once the account, plan or keys came back.
        const [row] = (await t.db.dataSource.query(`SELECT status, stop_reason FROM bots WHERE id = $1`, [id])) as Array<{ status: string; stop_reason: string }>;
        expect(row.status).toBe('stopped');
        expect(row.stop_reason).toMatch(/^(subscription_|user_deactivated|exchange_disconnected)/);
      } finally {
        check.release();
        jest.restoreAllMocks();
      }
    },
  );

  it('an erasure (the user row, the running bots stopped, then the bots lock for the subscription end) while the user edits a running bot: no deadlock', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    const id = (await createBot(t, u, { mode: 'paper', name: 'edited' })).body.id as string;
    // The erasure's transaction, in its order: the user row, the running bots stopped (their rows locked) …
    const erasure = t.db.dataSource.createQueryRunner();
    await erasure.connect();
    await erasure.startTransaction();
    try {
      await erasure.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [u.id]);
      await erasure.query(`UPDATE users SET is_active = false WHERE id = $1`, [u.id]);
      await erasure.query(`UPDATE bots SET status = 'stopped', stop_reason = 'user_deactivated' WHERE user_id = $1 AND status = 'running'`, [u.id]);
      // … the user renames the bot meanwhile …
      const editing = t.request('PATCH', `/api/bots/${id}`, { token: u.access_token, body: { name: 'renamed' } });
      await new Promise((r) => setTimeout(r, 400));
      // … then the subscription's end takes the user's bots lock (BotExpiryListener). Before: the edit held that lock
      // and waited for the bot's row: a deadlock, one of the two failed (the erasure or the edit, 500).
      await erasure.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [7_204_600, u.id]);
      await erasure.commitTransaction();
      const res = await editing;
      expect(res.status).toBe(401);
    } finally {
      if (erasure.isTransactionActive) await erasure.rollbackTransaction();
      await erasure.release();
    }
    const [row] = (await t.db.dataSource.query(`SELECT name, status FROM bots WHERE id = $1`, [id])) as Array<{ name: string; status: string }>;
    expect(row).toEqual({ name: 'edited', status: 'stopped' });
  });
});
