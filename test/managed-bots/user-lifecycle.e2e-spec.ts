import { FollowerPerformanceService, FollowsService } from '@torgovo/managed-bots';
import { DataSource } from 'typeorm';
import type { TestUser } from '../custom-bots/support';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { runCli } from '../support/cli';
import { pauseOnce } from '../support/pause-once';
import { connectOkx, createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

/**
 * "A user follows a managed bot, then the account is erased or deactivated, then the next signal."
 * Nothing ended the follows: every later signal wrote an order for the account (canceled
 * user_inactive at its turn), the month's run charged it, it counted among the bot's followers, and
 * after a reactivation live copying resumed unasked. Now the change ends them in its transaction
 * (settled, positions left), and a subscribe under way when it commits inserts nothing.
 */
describe('managed followers: an erased or deactivated account stops following (e2e)', () => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  const erase = (u: { id: string }) => t.request('DELETE', `/api/admin/users/${u.id}`, { token: admin.access_token });
  const setActive = (u: { id: string }, is_active: boolean) => t.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active } });
  const follows = async (u: { id: string }) =>
    (await ds.query(`SELECT status, end_reason FROM managed_bot_follows WHERE user_id = $1 ORDER BY created_at`, [u.id])) as Array<{ status: string; end_reason: string | null }>;
  const followers = async (botId: string) =>
    (await t.request<Array<{ id: string; stats: { followers: number } }>>('GET', '/api/managed-bot/available')).body.find((b) => b.id === botId)?.stats.followers;

  /** A paper follower holding BTC (a buy of 10 % of 1,000 at 50,000, filled). */
  async function paperHolder(): Promise<{ u: TestUser & { email: string }; botId: string }> {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await follow(t, u, botId, { investment: '1000' });
    await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: `b-${botId}` });
    await drain(t, botId);
    return { u, botId };
  }

  it('erased: the follow ends user_erased in the erasure (settled, positions left), the next signal writes nothing, the bot shows no follower', async () => {
    const { u, botId } = await paperHolder();
    expect(await followers(botId)).toBe(1);

    const res = await erase(u);
    expect([res.status, lastError(t)]).toEqual([204, '']);
    expect(await follows(u)).toEqual([{ status: 'ended', end_reason: 'user_erased' }]);
    // Settled as an unsubscribe is; no closing order: the positions stay on the account.
    const settled = (await ds.query(`SELECT kind FROM managed_profit_share_settlements WHERE user_id = $1`, [u.id])) as Array<{ kind: string }>;
    expect(settled).toEqual([{ kind: 'unsubscribe' }]);
    expect((await ds.query(`SELECT count(*)::int AS n FROM orders WHERE user_id = $1`, [u.id]))[0].n).toBe(1);

    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: `after-${botId}` })).orders_created).toBe(0);
    expect(await followers(botId)).toBe(0);
  });

  it('deactivated: the follow ends user_deactivated and a queued order is never sent; reactivated: still ended, nothing copied', async () => {
    const { u, botId } = await paperHolder();
    // Fanned out before the deactivation, not sent yet.
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: `q-${botId}` })).orders_created).toBe(1);

    expect((await setActive(u, false)).status).toBe(200);
    expect(await follows(u)).toEqual([{ status: 'ended', end_reason: 'user_deactivated' }]);
    await drain(t, botId);
    const statuses = (await ds.query(`SELECT status, split_part(reason, ':', 1) AS reason FROM orders WHERE user_id = $1 ORDER BY created_at`, [u.id])) as unknown[];
    expect(statuses).toEqual([
      { status: 'filled', reason: null },
      { status: 'canceled', reason: 'follow_ended' },
    ]);

    expect((await setActive(u, true)).status).toBe(200);
    expect(await follows(u)).toEqual([{ status: 'ended', end_reason: 'user_deactivated' }]);
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '50000', signal_id: `re-${botId}` })).orders_created).toBe(0);
    expect(await followers(botId)).toBe(0);
  });

  it('`cli deactivate-user` ends the follows the same way', async () => {
    const { u } = await paperHolder();
    await runCli(t, ['deactivate-user', '--email', u.email]);
    expect(await follows(u)).toEqual([{ status: 'ended', end_reason: 'user_deactivated' }]);
  }, 60_000);

  it('a live subscribe reads the OKX balance, then the erasure commits, then the subscribe writes: 401 and no follow', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    await connectOkx(t, u, okx.addAccount({ balances: { USDT: '5000' } }));
    const balance = pauseOnce(t.app.get(FollowsService) as unknown as { checkBalance: () => Promise<void> }, 'checkBalance');
    try {
      const subscribing = t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: botId, investment: '1000', mode: 'live' } });
      await balance.reached;
      expect((await erase(u)).status).toBe(204);
      balance.release();
      const res = await subscribing;
      expect([res.status, (res.body as { code?: string }).code]).toEqual([401, 'unauthorized']);
    } finally {
      balance.release();
    }
    expect(await follows(u)).toEqual([]);
  });

  it('an unsubscribe holds the follow, then the erasure waits for it, then the unsubscribe settles: both succeed (no deadlock on the user row)', async () => {
    const { u, botId } = await paperHolder();
    // The unsubscribe has locked the follow; its recompute and settlement write rows keyed by the user next.
    const settle = pauseOnce(t.app.get(FollowerPerformanceService), 'recompute', 'before');
    let erased: Promise<HttpResult> | undefined;
    try {
      const leaving = t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
      await settle.reached;
      erased = erase(u);
      // The erasure reaches the follow's lock and waits there (seen waiting on a lock, not guessed by a sleep).
      const until = Date.now() + 10_000;
      for (;;) {
        const [{ n }] = (await t.db.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%managed_bot_follows%'`,
        )) as Array<{ n: number }>;
        if (n > 0) break;
        if (Date.now() > until) throw new Error('the erasure never waited on the follow');
        await new Promise((r) => setTimeout(r, 20));
      }
      settle.release();
      const [left, gone] = await Promise.all([leaving, erased]);
      expect([left.status, gone.status, lastError(t)]).toEqual([200, 204, '']);
    } finally {
      settle.release();
      await erased;
    }
    expect(await follows(u)).toEqual([{ status: 'ended', end_reason: 'user' }]);
  });
});
