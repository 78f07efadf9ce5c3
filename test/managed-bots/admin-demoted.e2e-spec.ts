import { ManagedBotsService, SignalFanoutService } from '@torgovo/managed-bots';
import { PlansService } from '@torgovo/plans';
import { DataSource } from 'typeorm';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { pauseOnce } from '../support/pause-once';
import { createManagedBot, follow, managedSubscriber } from './support';

/**
 * "An admin's managed-bot request passes the role guard, then another admin demotes them, then the
 * request's effect." The role guard read the role when the request came in; the signal (orders for
 * every follower), the webhook secret (which trades every follower), a resume and a plan edit must not land for
 * someone who is no longer an admin: each is refused 403 at its write, and writes nothing.
 */
describe('managed bots: an admin demoted while their request is under way (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let root: { id: string; access_token: string };

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    root = await t.admin();
  });
  afterAll(() => t?.close());
  afterEach(() => jest.restoreAllMocks());

  /** `request` by admin B reaches `method` (past the guard), root demotes B, then it goes on. */
  async function demotedMidway<T extends object>(obj: T, method: keyof T & string, request: (b: { access_token: string }) => Promise<HttpResult>): Promise<HttpResult> {
    const b = await t.admin();
    const pause = pauseOnce(obj, method, 'before');
    try {
      const answer = request(b);
      await pause.reached;
      const demoted = await t.request('PATCH', `/api/admin/users/${b.id}`, { token: root.access_token, body: { role: 'user' } });
      expect(demoted.status).toBe(200);
      pause.release();
      return await answer;
    } finally {
      pause.release();
    }
  }

  it('a signal: 403, no order for any follower, no signal recorded', async () => {
    const botId = await createManagedBot(t, root);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '500' });
    const res = await demotedMidway(t.app.get(SignalFanoutService), 'accept', (b) =>
      t.request('POST', `/api/managed-bots/${botId}/signals`, { token: b.access_token, body: { action: 'buy', symbol: 'BTC/USDT', fraction: '0.5', price: '50000' } }),
    );
    expect([res.status, (res.body as { code?: string }).code]).toEqual([403, 'forbidden']);
    expect((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(0);
    expect((await ds.query(`SELECT count(*)::int AS n FROM managed_bot_signals WHERE managed_bot_id = $1`, [botId]))[0].n).toBe(0);
  });

  it('a webhook rotation: 403, the old secret still the one', async () => {
    const botId = await createManagedBot(t, root);
    const [{ before }] = (await ds.query(`SELECT webhook_secret_hash AS before FROM managed_bots WHERE id = $1`, [botId])) as Array<{ before: string | null }>;
    const res = await demotedMidway(t.app.get(ManagedBotsService), 'rotateWebhook', (b) => t.request('POST', `/api/managed-bots/${botId}/webhook`, { token: b.access_token }));
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).not.toContain('webhook_secret');
    const [{ after }] = (await ds.query(`SELECT webhook_secret_hash AS after FROM managed_bots WHERE id = $1`, [botId])) as Array<{ after: string | null }>;
    expect(after).toBe(before);
  });

  it('a plan edit: 403, the plan as it was', async () => {
    const [plan] = (await ds.query(`SELECT id, monthly_price::text AS price_monthly FROM subscription_plans WHERE code = 'pro'`)) as Array<{ id: string; price_monthly: string }>;
    const res = await demotedMidway(t.app.get(PlansService), 'update', (b) =>
      t.request('PATCH', `/api/subscription-plans/${plan.id}`, { token: b.access_token, body: { monthly_price: '0.01' } }),
    );
    expect(res.status).toBe(403);
    expect((await ds.query(`SELECT monthly_price::text AS price_monthly FROM subscription_plans WHERE id = $1`, [plan.id]))[0].price_monthly).toBe(plan.price_monthly);
  });

  it('a resume of a paused bot: 403, still paused', async () => {
    const botId = await createManagedBot(t, root);
    expect((await t.request('PATCH', `/api/managed-bots/${botId}`, { token: root.access_token, body: { status: 'paused' } })).status).toBe(200);
    const res = await demotedMidway(t.app.get(ManagedBotsService), 'update', (b) => t.request('PATCH', `/api/managed-bots/${botId}`, { token: b.access_token, body: { status: 'active' } }));
    expect(res.status).toBe(403);
    expect((await ds.query(`SELECT status FROM managed_bots WHERE id = $1`, [botId]))[0].status).toBe('paused');
  });
});
