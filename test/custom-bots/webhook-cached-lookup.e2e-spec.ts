import { TradingManager } from '@torgovo/trading';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { runCli } from '../support/cli';
import { countRows, eventRows, Generated, runningBotWebhook, sendAlert, TestUser } from './support';

/**
 * The receive path keeps each webhook's lookup (WebhookTargets, WEBHOOK_LOOKUP_CACHE_MS) and writes
 * the alerts that arrive together in one statement (WebhookIntake). Whatever it holds, a change that
 * was answered takes effect for every alert after it: the write re-checks the rows' versions. Each
 * case warms the cache with an accepted alert first, then changes the state, then sends again.
 */
describe('webhook receive with a cached lookup and batched writes (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  let manager: TradingManager;

  beforeAll(async () => {
    // A long cache lifetime: only the write's version check can notice the changes below.
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, WEBHOOK_LOOKUP_CACHE_MS: '3600000', WEBHOOK_RATE_LIMIT_PER_USER: '0', WEBHOOK_RATE_LIMIT_PER_IP: '0' });
    manager = t.app.get(TradingManager);
  });
  afterAll(async () => {
    await t?.close();
  });

  let n = 0;
  const alert = (secret: string) => ({ action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001', alert_id: `a-${(n += 1)}`, secret });

  async function trader(): Promise<{ user: TestUser & { email: string; password: string }; botId: string; hook: Generated }> {
    const { user, botId, hook } = await runningBotWebhook(t);
    expect((await sendAlert(t, hook.webhook_secret, alert(hook.webhook_secret))).status).toBe(202); // the lookup is cached now
    return { user, botId, hook };
  }

  it('a stop after a cached lookup: the next alert is 403 bot_stopped, writes no order, and is logged; started again it trades', async () => {
    const f = await trader();
    expect((await t.request('POST', `/api/bots/${f.botId}/stop`, { token: f.user.access_token })).status).toBe(200);
    const orders = await countRows(t, 'orders');
    const refused = await sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret));
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'bot_stopped' });
    expect(await countRows(t, 'orders')).toBe(orders);
    expect((await eventRows(t, f.hook.id)).map((e) => [e.outcome, e.reason])).toEqual([
      ['accepted', null],
      ['rejected', 'bot_stopped'],
    ]);
    expect((await t.request('POST', `/api/bots/${f.botId}/start`, { token: f.user.access_token })).status).toBe(200);
    expect((await sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret))).status).toBe(202);
  });

  it('a rotated secret after a cached lookup: the old secret is 404 at once, the new one is accepted', async () => {
    const f = await trader();
    const rotated = await t.request<Generated>('POST', `/api/custom-bot/webhooks/${f.hook.id}/rotate`, { token: f.user.access_token });
    expect(rotated.status).toBe(201);
    const old = await sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret));
    expect({ status: old.status, code: old.body.code }).toEqual({ status: 404, code: 'not_found' });
    expect((await sendAlert(t, rotated.body.webhook_secret, alert(rotated.body.webhook_secret))).status).toBe(202);
    // Deactivated: refused at once too.
    expect((await t.request('DELETE', `/api/custom-bot/webhooks/${f.hook.id}`, { token: f.user.access_token })).status).toBe(204);
    expect((await sendAlert(t, rotated.body.webhook_secret, alert(rotated.body.webhook_secret))).status).toBe(404);
  });

  it('a plan change after a cached lookup is seen by the next alert (the plan row changed)', async () => {
    const f = await trader();
    const admin = await t.admin();
    const free = (await t.db.dataSource.query(`SELECT id FROM subscription_plans WHERE code = 'free'`)) as Array<{ id: string }>;
    // Free allows 1 bot: the other-bot count is not versioned, but the plan row is: max_bots 0 refuses the running bot.
    const patched = await t.request('PATCH', `/api/subscription-plans/${free[0].id}`, { token: admin.access_token, body: { max_bots: 0 } });
    expect(patched.status).toBe(200);
    try {
      const refused = await sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret));
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'plan_limit' });
    } finally {
      await t.request('PATCH', `/api/subscription-plans/${free[0].id}`, { token: admin.access_token, body: { max_bots: 1 } });
    }
  });

  it('a user deactivated during a burst: alerts after it are refused; orders accepted before it are canceled by the executor, and the log says why', async () => {
    const a = await trader();
    const b = await trader();
    await manager.runUntilIdle(); // the warm-up orders
    // A burst over both users' webhooks, all at once (written together in a few statements).
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a)).map((f) => sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret))));
    expect(first.map((r) => r.status)).toEqual(Array(20).fill(202));
    const off = await runCli(t, ['deactivate-user', '--email', a.user.email]);
    expect(off.stdout).toContain('is deactivated');
    // After the deactivation was answered: every alert of A is refused, B is unaffected.
    const second = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a)).map((f) => sendAlert(t, f.hook.webhook_secret, alert(f.hook.webhook_secret))));
    expect(second.filter((_, i) => i % 2 === 0).map((r) => r.status)).toEqual(Array(10).fill(403));
    expect(second.filter((_, i) => i % 2 === 1).map((r) => r.status)).toEqual(Array(10).fill(202));

    await manager.runUntilIdle();
    const statusOf = async (id: string) => ((await t.db.dataSource.query(`SELECT status, reason FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string }>)[0];
    for (const [i, r] of first.entries()) {
      const o = await statusOf(r.body.order_id as string);
      if (i % 2 === 0) expect(o).toMatchObject({ status: 'canceled', reason: expect.stringMatching(/^(bot_stopped|user_inactive)/) });
      else expect(o.status).toBe('filled');
    }
    // The owner's event log shows what became of each accepted alert's order (reactivated to log in and read it).
    await runCli(t, ['activate-user', '--email', a.user.email]);
    const login = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: a.user.email, password: a.user.password } });
    expect(login.status).toBe(200);
    const log = await t.request<{ items: Array<{ outcome: string; order_status: string | null; order_reason: string | null }> }>(
      'GET',
      `/api/custom-bot/webhooks/${a.hook.id}/events?limit=100`,
      { token: login.body.access_token },
    );
    expect(log.status).toBe(200);
    const accepted = log.body.items.filter((e) => e.outcome === 'accepted');
    expect(accepted).toHaveLength(11); // the warm-up and the 10 of the burst
    expect(accepted.filter((e) => e.order_status === 'canceled').map((e) => e.order_reason)).toEqual(Array(10).fill(expect.stringMatching(/^(bot_stopped|user_inactive)/)));
    expect(log.body.items.filter((e) => e.outcome === 'rejected')).toHaveLength(10);
  });
});
