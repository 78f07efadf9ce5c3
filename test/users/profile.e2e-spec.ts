import { createTestApp, TestApp } from '../support/app';

// GET /users/me composes users and subscriptions through core's SUBSCRIPTIONS_READER.
describe('GET /users/me with subscriptions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the caller’s current subscriptions and nobody else’s', async () => {
    const a = await t.register();
    const b = await t.register();
    const plans = await t.request<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
    const free = plans.body.items.find((p) => p.code === 'free')!;
    const sub = await t.request<{ id: string; status: string }>('POST', '/api/subscriptions', {
      token: a.access_token,
      body: { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false },
    });
    expect(sub.status).toBe(201);
    expect(sub.body.status).toBe('active');

    const meA = await t.request<{ subscriptions: Array<{ id: string; status: string }> }>('GET', '/api/users/me', { token: a.access_token });
    expect(meA.body.subscriptions).toHaveLength(1);
    expect(meA.body.subscriptions[0]).toMatchObject({ id: sub.body.id, status: 'active' });

    const meB = await t.request<{ subscriptions: unknown[] }>('GET', '/api/users/me', { token: b.access_token });
    expect(meB.body.subscriptions).toEqual([]);
    expect(meB.text).not.toContain(sub.body.id);
  });
});
