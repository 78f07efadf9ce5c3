import { createBot, subscribe } from '../custom-bots/support';
import { createManagedBot, follow, managedSubscriber } from '../managed-bots/support';
import { createTestApp, TestApp } from '../support/app';

/**
 * A JSON null in an optional field is a value, not "absent": a 400 that changes nothing, unless the
 * field takes null (null = unlimited, none). class-validator's IsOptional let nulls through to
 * services reading `!== undefined` as "given": 500s, and one effect before the 500 (Stripe told to
 * stop renewing). Found by a helper's review of the API surface.
 */
describe('null in an optional request field (e2e)', () => {
  let t: TestApp;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
  });

  const refused = (res: { status: number; body: unknown }) => expect([res.status, (res.body as { code?: string }).code]).toEqual([400, 'validation_failed']);

  it('subscriptions, bots, notification preferences, follows and a managed alert: 400 validation_failed, nothing written', async () => {
    const u = await managedSubscriber(t);
    const subId = await subscribe(t, u, 'pro');
    const sub = async () => (await t.db.dataSource.query(`SELECT auto_renew, cancel_at_period_end FROM user_subscriptions WHERE id = $1`, [subId]))[0];
    const before = await sub();
    // Before: 500 (auto_renew NOT NULL), after telling Stripe to stop renewing a card subscription.
    for (const body of [{ auto_renew: null }, { cancel_at_period_end: null }]) refused(await t.request('PATCH', `/api/subscriptions/${subId}`, { token: u.access_token, body }));
    expect(await sub()).toEqual(before);

    const botId = (await createBot(t, u)).body.id as string;
    // Before: 500 (a TypeError in the service, or a NOT NULL column).
    for (const body of [{ name: null }, { sizing: null }, { order_type: null }, { allow_selling_beyond_position: null }, { symbol: null }]) {
      refused(await t.request('PATCH', `/api/bots/${botId}`, { token: u.access_token, body }));
    }
    const [bot] = (await t.db.dataSource.query(`SELECT name, order_type FROM bots WHERE id = $1`, [botId])) as Array<{ name: string; order_type: string }>;
    expect(bot).toEqual({ name: 'Test bot', order_type: 'market' });

    refused(await t.request('PATCH', '/api/users/me/notifications', { token: u.access_token, body: { preferences: [{ kind: 'order_filled', email: null }] } }));
    expect(await t.db.dataSource.query(`SELECT 1 FROM notification_preferences WHERE user_id = $1`, [u.id])).toEqual([]);

    const managedId = await createManagedBot(t, admin);
    refused(await t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: managedId, investment: '1000', mode: 'paper', max_slippage_pct: null } }));
    await follow(t, u, managedId);
    refused(await t.request('PATCH', `/api/managed-bot/${managedId}/follow`, { token: u.access_token, body: { max_slippage_pct: null } }));
    // Null where null means something is still taken: stop_loss_pct null = no stop-loss.
    expect((await t.request('PATCH', `/api/managed-bot/${managedId}/follow`, { token: u.access_token, body: { stop_loss_pct: null } })).status).toBe(200);

    // Before: a buy with "fraction": null became fraction 1 — every follower's whole investment.
    const hook = await t.request<{ webhook_secret: string }>('POST', `/api/managed-bots/${managedId}/webhook`, { token: admin.access_token });
    expect(hook.status).toBe(201);
    const alert = await t.request('POST', `/api/managed-bot/webhook/receive/${hook.body.webhook_secret}`, { body: { action: 'buy', ticker: 'BTCUSDT', fraction: null } });
    expect(alert.status).toBe(400);
    expect(await t.db.dataSource.query(`SELECT 1 FROM orders WHERE managed_bot_id = $1`, [managedId])).toEqual([]);

    // An admin's plan edit: null = unlimited is still accepted where the contract says so.
    const plans = (await t.db.dataSource.query(`SELECT id FROM subscription_plans WHERE code = 'enterprise'`)) as Array<{ id: string }>;
    expect((await t.request('PATCH', `/api/subscription-plans/${plans[0].id}`, { token: admin.access_token, body: { max_bots: null } })).status).toBe(200);
  });
});
