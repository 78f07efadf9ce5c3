import { createTestApp, TestApp } from '../support/app';

interface Plan {
  id: string;
  code: string;
  plan_type: string;
  monthly_price: string;
  is_active: boolean;
  [k: string]: unknown;
}
interface Sub {
  id: string;
  status: string;
  plan: Plan;
  [k: string]: unknown;
}
interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details: Array<{ field?: string; message: string }>;
  request_id: string;
}
interface PageOf<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

describe('HTTP: /api/subscription-plans and /api/subscriptions', () => {
  let t: TestApp;
  let user: { id: string; access_token: string };
  let other: { id: string; access_token: string };
  let admin: { id: string; access_token: string };
  let plans: Record<string, Plan>;

  beforeAll(async () => {
    t = await createTestApp();
    user = await t.register();
    other = await t.register();
    admin = await t.admin();
    const res = await t.request<PageOf<Plan>>('GET', '/api/subscription-plans?limit=200');
    plans = Object.fromEntries(res.body.items.map((p) => [p.code, p]));
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('plans', () => {
    it('lists active plans publicly, snake_case, prices as decimal strings, filterable by plan_type', async () => {
      const all = await t.request<PageOf<Plan>>('GET', '/api/subscription-plans');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ total: 5, page: 1, limit: 50 });
      expect(all.body.items.map((p) => p.code)).toEqual(['free', 'pro', 'enterprise', 'managed_basic', 'managed_premium']);
      expect(all.body.items[1]).toMatchObject({
        code: 'pro',
        plan_type: 'custom_bot',
        name: 'Pro',
        monthly_price: '29.00',
        yearly_price: '290.00',
        max_bots: 3,
        live_trading: true,
        trial_days: 7,
        guaranteed_monthly_return: null,
        profit_share_percentage: null,
      });
      expect(all.body.items[2]).toMatchObject({ max_bots: null, max_trading_pairs: null });
      expect(all.body.items[3]).toMatchObject({ guaranteed_monthly_return: '3', profit_share_percentage: '20' });
      const managed = await t.request<PageOf<Plan>>('GET', '/api/subscription-plans?plan_type=managed_bot');
      expect(managed.body.items.map((p) => p.code)).toEqual(['managed_basic', 'managed_premium']);
      const bad = await t.request<ErrorBody>('GET', '/api/subscription-plans?plan_type=spot');
      expect(bad.status).toBe(400);
      expect(bad.body.details[0].field).toBe('plan_type');
    });

    it('create, update and deactivate are admin-only (403 for a user, 401 without a token)', async () => {
      const body = { code: 'pro_plus', plan_type: 'custom_bot', name: 'Pro Plus', monthly_price: '49.00', yearly_price: '490.00' };
      expect((await t.request('POST', '/api/subscription-plans', { body })).status).toBe(401);
      const forbidden = await t.request<ErrorBody>('POST', '/api/subscription-plans', { body, token: user.access_token });
      expect(forbidden.status).toBe(403);
      expect((await t.request('PATCH', `/api/subscription-plans/${plans.pro.id}`, { body: { name: 'x' }, token: user.access_token })).status).toBe(403);
      expect((await t.request('DELETE', `/api/subscription-plans/${plans.pro.id}`, { token: user.access_token })).status).toBe(403);
    });

    it('admin creates a plan (201), a duplicate code is 409, invalid money and unknown fields are 400 per field', async () => {
      const body = {
        code: 'pro_plus',
        plan_type: 'custom_bot',
        name: 'Pro Plus',
        monthly_price: '49.5',
        yearly_price: '495.00',
        features: ['5 bots'],
        max_bots: 5,
        max_trading_pairs: null,
        live_trading: true,
      };
      const created = await t.request<Plan>('POST', '/api/subscription-plans', { body, token: admin.access_token });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ code: 'pro_plus', monthly_price: '49.50', max_trading_pairs: null, is_active: true });
      const dup = await t.request<ErrorBody>('POST', '/api/subscription-plans', { body, token: admin.access_token });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('plan_code_taken');

      const invalid = await t.request<ErrorBody>('POST', '/api/subscription-plans', {
        body: { ...body, code: 'other', monthly_price: 49.5, yearly_price: '-1', max_bots: -1, rogue: true },
        token: admin.access_token,
      });
      expect(invalid.status).toBe(400);
      const fields = invalid.body.details.map((d) => d.field);
      expect(fields).toEqual(expect.arrayContaining(['monthly_price', 'yearly_price', 'max_bots', 'rogue']));

      const managedFields = await t.request<ErrorBody>('POST', '/api/subscription-plans', {
        body: { ...body, code: 'other2', profit_share_percentage: '10' },
        token: admin.access_token,
      });
      expect(managedFields.status).toBe(400);
      const tooBig = await t.request<ErrorBody>('POST', '/api/subscription-plans', {
        body: { ...body, code: 'other3', monthly_price: '123456789.00' },
        token: admin.access_token,
      });
      expect(tooBig.status).toBe(400);
    });

    it('admin updates a plan; code and plan_type cannot change; null on a required field is 400; unknown id 404', async () => {
      const upd = await t.request<Plan>('PATCH', `/api/subscription-plans/${plans.enterprise.id}`, {
        body: { description: 'Everything', trial_days: 3 },
        token: admin.access_token,
      });
      expect(upd.status).toBe(200);
      expect(upd.body).toMatchObject({ description: 'Everything', trial_days: 3, code: 'enterprise' });
      expect((await t.request('PATCH', `/api/subscription-plans/${plans.enterprise.id}`, { body: { code: 'x' }, token: admin.access_token })).status).toBe(400);
      expect((await t.request('PATCH', `/api/subscription-plans/${plans.enterprise.id}`, { body: { plan_type: 'managed_bot' }, token: admin.access_token })).status).toBe(400);
      expect((await t.request('PATCH', `/api/subscription-plans/${plans.enterprise.id}`, { body: { name: null }, token: admin.access_token })).status).toBe(400);
      expect((await t.request('PATCH', '/api/subscription-plans/00000000-0000-4000-8000-000000000000', { body: { name: 'x' }, token: admin.access_token })).status).toBe(404);
      expect((await t.request('PATCH', '/api/subscription-plans/not-a-uuid', { body: { name: 'x' }, token: admin.access_token })).status).toBe(400);
      await t.request('PATCH', `/api/subscription-plans/${plans.enterprise.id}`, { body: { trial_days: 0 }, token: admin.access_token });
    });

    it('DELETE deactivates (never deletes): the plan leaves the public list and cannot be subscribed to (400)', async () => {
      const created = await t.request<Plan>('POST', '/api/subscription-plans', {
        body: { code: 'short_lived', plan_type: 'custom_bot', name: 'Short', monthly_price: '5.00', yearly_price: '50.00' },
        token: admin.access_token,
      });
      const del = await t.request<Plan>('DELETE', `/api/subscription-plans/${created.body.id}`, { token: admin.access_token });
      expect(del.status).toBe(200);
      expect(del.body.is_active).toBe(false);
      const list = await t.request<PageOf<Plan>>('GET', '/api/subscription-plans?limit=200');
      expect(list.body.items.map((p) => p.code)).not.toContain('short_lived');
      const rows = (await t.db.dataSource.query('SELECT is_active FROM subscription_plans WHERE id = $1', [created.body.id])) as unknown[];
      expect(rows).toEqual([{ is_active: false }]);
      const sub = await t.request<ErrorBody>('POST', '/api/subscriptions', {
        body: { plan_id: created.body.id, billing_cycle: 'monthly', payment_method: 'crypto', auto_renew: true },
        token: user.access_token,
      });
      expect(sub.status).toBe(400);
      expect(sub.body.code).toBe('plan_inactive');
      const audit = (await t.db.dataSource.query(`SELECT actor_id FROM audit_logs WHERE event_type = 'plan.deactivated'`)) as Array<{ actor_id: string }>;
      expect(audit).toEqual([{ actor_id: admin.id }]);
    });
  });

  describe('subscriptions', () => {
    it('needs a token', async () => {
      expect((await t.request('GET', '/api/subscriptions')).status).toBe(401);
      expect((await t.request('POST', '/api/subscriptions', { body: {} })).status).toBe(401);
    });

    it('POST validates every field and rejects unknown ones (400 with details)', async () => {
      const res = await t.request<ErrorBody>('POST', '/api/subscriptions', {
        body: { plan_id: 'nope', billing_cycle: 'weekly', payment_method: 'cash', auto_renew: 'yes', extra: 1 },
        token: user.access_token,
      });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d) => d.field).sort()).toEqual(['auto_renew', 'billing_cycle', 'extra', 'payment_method', 'plan_id']);
      expect(res.body.request_id).toBeTruthy();
    });

    it('free is 201 active at once; my-subscription shows it; GET by id; list paginated', async () => {
      const res = await t.request<Sub>('POST', '/api/subscriptions', {
        body: { plan_id: plans.free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false },
        token: user.access_token,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'active', end_date: null, billing_cycle: 'monthly', payment_method: 'none', cancel_at_period_end: false });
      expect(res.body.plan.code).toBe('free');
      expect(typeof res.body.start_date).toBe('string');

      const mine = await t.request<{ custom_bot: Sub | null; managed_bot: Sub | null }>('GET', '/api/subscriptions/my-subscription', { token: user.access_token });
      expect(mine.status).toBe(200);
      expect(mine.body.custom_bot?.id).toBe(res.body.id);
      expect(mine.body.custom_bot?.plan.max_bots).toBe(1);
      expect(mine.body.managed_bot).toBeNull();

      const one = await t.request<Sub>('GET', `/api/subscriptions/${res.body.id}`, { token: user.access_token });
      expect(one.status).toBe(200);
      expect(Object.keys(one.body)).toEqual(
        expect.arrayContaining(['id', 'plan', 'status', 'start_date', 'end_date', 'auto_renew', 'payment_method', 'billing_cycle', 'cancel_at_period_end']),
      );
      const list = await t.request<PageOf<Sub>>('GET', '/api/subscriptions?page=1&limit=10', { token: user.access_token });
      expect(list.body).toMatchObject({ total: 1, page: 1, limit: 10 });
      expect((await t.request('GET', '/api/subscriptions?limit=500', { token: user.access_token })).status).toBe(400);
    });

    it('a paid plan is pending_payment; the current plan stays current; a different pending is 409', async () => {
      const res = await t.request<Sub>('POST', '/api/subscriptions', {
        body: { plan_id: plans.enterprise.id, billing_cycle: 'yearly', payment_method: 'crypto', auto_renew: true },
        token: user.access_token,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'pending_payment', start_date: null, billing_cycle: 'yearly' });
      const conflict = await t.request<ErrorBody>('POST', '/api/subscriptions', {
        body: { plan_id: plans.enterprise.id, billing_cycle: 'monthly', payment_method: 'crypto', auto_renew: true },
        token: user.access_token,
      });
      expect(conflict.status).toBe(409);
      expect(conflict.body.code).toBe('pending_subscription_exists');
      const mine = await t.request<{ custom_bot: Sub; pending: { custom_bot: Sub } }>('GET', '/api/subscriptions/my-subscription', { token: user.access_token });
      expect(mine.body.custom_bot.plan.code).toBe('free');
      expect(mine.body.pending.custom_bot.id).toBe(res.body.id);
    });

    it('another user\'s subscription is 404 for GET, PATCH and DELETE; a bad id is 400', async () => {
      const list = await t.request<PageOf<Sub>>('GET', '/api/subscriptions', { token: user.access_token });
      const id = list.body.items[0].id;
      for (const [method, body] of [['GET', undefined], ['PATCH', { auto_renew: false }], ['DELETE', undefined]] as const) {
        const res = await t.request<ErrorBody>(method, `/api/subscriptions/${id}`, { body, token: other.access_token });
        expect(res.status).toBe(404);
        expect(res.text).not.toContain(user.id);
      }
      expect((await t.request('GET', '/api/subscriptions/123', { token: user.access_token })).status).toBe(400);
    });

    it('PATCH validates its body; DELETE cancels now (200 cancelled); cancelling again is 409 invalid_state', async () => {
      const list = await t.request<PageOf<Sub>>('GET', '/api/subscriptions', { token: user.access_token });
      const pending = list.body.items.find((s) => s.status === 'pending_payment')!;
      const bad = await t.request<ErrorBody>('PATCH', `/api/subscriptions/${pending.id}`, {
        body: { auto_renew: 'no', status: 'active' },
        token: user.access_token,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d) => d.field).sort()).toEqual(['auto_renew', 'status']);
      const ok = await t.request<Sub>('PATCH', `/api/subscriptions/${pending.id}`, { body: { auto_renew: false }, token: user.access_token });
      expect(ok.status).toBe(200);
      expect(ok.body.auto_renew).toBe(false);
      const scheduled = await t.request<ErrorBody>('PATCH', `/api/subscriptions/${pending.id}`, { body: { cancel_at_period_end: true }, token: user.access_token });
      expect(scheduled.status).toBe(409);

      const del = await t.request<Sub>('DELETE', `/api/subscriptions/${pending.id}`, { token: user.access_token });
      expect(del.status).toBe(200);
      expect(del.body).toMatchObject({ id: pending.id, status: 'cancelled', end_reason: 'cancelled_by_user' });
      const again = await t.request<ErrorBody>('DELETE', `/api/subscriptions/${pending.id}`, { token: user.access_token });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('invalid_state');
      const audit = (await t.db.dataSource.query(
        `SELECT event_type, actor_id, ip FROM audit_logs WHERE data->>'subscription_id' = $1 ORDER BY created_at`,
        [pending.id],
      )) as Array<{ event_type: string; actor_id: string; ip: string | null }>;
      expect(audit.map((a) => a.event_type)).toEqual(['subscription.created', 'subscription.updated', 'subscription.cancelled']);
      expect(audit.every((a) => a.actor_id === user.id && a.ip)).toBe(true);
    });

    it('two concurrent POSTs of the same plan type leave one current subscription', async () => {
      const u = await t.register();
      const body = { plan_id: plans.free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false };
      const results = await Promise.all([1, 2, 3].map(() => t.request<Sub>('POST', '/api/subscriptions', { body, token: u.access_token })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      const rows = (await t.db.dataSource.query(
        `SELECT count(*)::int AS n FROM user_subscriptions WHERE user_id = $1 AND status IN ('active', 'trial', 'past_due')`,
        [u.id],
      )) as Array<{ n: number }>;
      expect(rows[0].n).toBe(1);
    });
  });
});
