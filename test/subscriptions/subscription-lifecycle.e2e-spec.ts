import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import { DomainError } from '@torgovo/core';
import {
  CreateSubscriptionDto,
  SubscriptionActivationService,
  SubscriptionsService,
  UserSubscription,
} from '@torgovo/subscriptions';
import { createTestDatabase, TestDatabase } from '../support/database';
import { auditRows, BillingHarness, bootBilling, createUser, domainErrorOf, planByCode, planIds } from './billing-harness';

async function expectDomainError(p: Promise<unknown>, code: string, status: number): Promise<DomainError> {
  const err = await domainErrorOf(p);
  expect({ code: err.code, status: err.status }).toEqual({ code, status });
  return err;
}

const KHI = 'Asia/Karachi';
const local = (d: Date | null): string => DateTime.fromJSDate(d as Date, { zone: KHI }).toFormat("yyyy-MM-dd'T'HH:mm");

describe('subscriptions: state machine on PostgreSQL', () => {
  let db: TestDatabase;
  let h: BillingHarness;
  let ds: DataSource;
  let subs: SubscriptionsService;
  let activation: SubscriptionActivationService;
  let plans: Record<string, string>;

  const dto = (code: string, over: Partial<CreateSubscriptionDto> = {}): CreateSubscriptionDto => ({
    plan_id: plans[code],
    billing_cycle: 'monthly',
    payment_method: 'crypto',
    auto_renew: true,
    ...over,
  });
  const load = (id: string): Promise<UserSubscription> => ds.getRepository(UserSubscription).findOneByOrFail({ id });
  const currentRows = async (userId: string): Promise<UserSubscription[]> =>
    ds.getRepository(UserSubscription).find({ where: [{ user_id: userId, status: 'active' }, { user_id: userId, status: 'trial' }, { user_id: userId, status: 'past_due' }] });

  beforeAll(async () => {
    db = await createTestDatabase();
    h = await bootBilling(db);
    ds = h.ds;
    subs = h.get(SubscriptionsService);
    activation = h.get(SubscriptionActivationService);
    plans = await planIds(ds);
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('seeds the five plans with decimal prices and managed-only fields', async () => {
    const rows = (await ds.query(
      `SELECT code, plan_type, monthly_price, yearly_price, max_bots, max_trading_pairs, live_trading, profit_share_percentage
       FROM subscription_plans ORDER BY sort_order`,
    )) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.code)).toEqual(['free', 'pro', 'enterprise', 'managed_basic', 'managed_premium']);
    expect(rows[0]).toMatchObject({ monthly_price: '0.00', max_bots: 1, max_trading_pairs: 1, live_trading: false });
    expect(rows[1]).toMatchObject({ monthly_price: '29.00', yearly_price: '290.00', max_bots: 3, live_trading: true });
    expect(rows[2]).toMatchObject({ monthly_price: '99.00', max_bots: null, max_trading_pairs: null, live_trading: true });
    expect(rows[3].plan_type).toBe('managed_bot');
    expect(rows[3].profit_share_percentage).not.toBeNull();
    expect(rows[0].profit_share_percentage).toBeNull();
  });

  it('free: active at once, open-ended, audited; a second free is 409 already_subscribed', async () => {
    const user = await createUser(ds);
    const sub = await subs.subscribe(user, dto('free', { payment_method: 'none' }), { ip: '10.0.0.1' });
    expect(sub).toMatchObject({ status: 'active', end_date: null, payment_method: 'none', auto_renew: false, plan_type: 'custom_bot' });
    expect(sub.start_date).toBeInstanceOf(Date);
    expect(sub.plan?.code).toBe('free');
    const audit = await auditRows(ds, 'subscription.created', sub.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ user_id: user, data: { status: 'active', plan_code: 'free' } });
    await expectDomainError(subs.subscribe(user, dto('free', { payment_method: 'none' })), 'already_subscribed', 409);
  });

  it('trial: a trial plan over free starts the trial at once and replaces free in the same transaction', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    const before = Date.now();
    const trial = await subs.subscribe(user, dto('pro'));
    expect(trial.status).toBe('trial');
    expect(trial.trial_ends_at?.getTime()).toBe(trial.end_date?.getTime());
    const days = ((trial.end_date as Date).getTime() - before) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);
    const old = await load(free.id);
    expect(old).toMatchObject({ status: 'cancelled', end_reason: 'replaced', replaced_by_id: trial.id });
    expect(await currentRows(user)).toHaveLength(1);
    expect(await auditRows(ds, 'subscription.replaced', free.id)).toHaveLength(1);
    // Replacing is not an end: bots are not stopped.
    expect(h.listener.events.filter((e) => e.user_id === user)).toHaveLength(0);
  });

  it('trial: once per plan; afterwards the same plan waits for payment', async () => {
    const user = await createUser(ds);
    const trial = await subs.subscribe(user, dto('pro'));
    await subs.cancel(user, trial.id);
    const again = await subs.subscribe(user, dto('pro'));
    expect(again.status).toBe('pending_payment');
  });

  it('paid: pending_payment keeps the old plan current; a repeat returns it; another pending is 409', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    const pending = await subs.subscribe(user, dto('enterprise'));
    expect(pending).toMatchObject({ status: 'pending_payment', start_date: null, end_date: null, replaces_id: free.id });
    expect((await load(free.id)).status).toBe('active');
    const repeat = await subs.subscribe(user, dto('enterprise'));
    expect(repeat.id).toBe(pending.id);
    const err = await expectDomainError(subs.subscribe(user, dto('pro', { billing_cycle: 'yearly' })), 'pending_subscription_exists', 409);
    expect(err.details[0].message).toBe(pending.id);
    // The other plan type is independent.
    const managed = await subs.subscribe(user, dto('managed_basic', { payment_method: 'crypto' }));
    expect(managed.status).toBe('pending_payment');
    const mine = await subs.current(user);
    expect(mine.current.custom_bot?.id).toBe(free.id);
    expect(mine.pending.custom_bot?.id).toBe(pending.id);
    expect(mine.pending.managed_bot?.id).toBe(managed.id);
    expect(mine.current.managed_bot).toBeUndefined();
  });

  it('rejects an inactive plan (400), an unknown plan (400) and a paid plan without a payment method (400)', async () => {
    const user = await createUser(ds);
    await ds.query(`INSERT INTO subscription_plans (code, plan_type, name, monthly_price, yearly_price, is_active) VALUES ('old_plan', 'custom_bot', 'Old', 5, 50, false)`);
    const old = await planByCode(ds, 'old_plan');
    await expectDomainError(subs.subscribe(user, { ...dto('pro'), plan_id: old.id }), 'plan_inactive', 400);
    await expectDomainError(subs.subscribe(user, { ...dto('pro'), plan_id: '00000000-0000-4000-8000-000000000000' }), 'plan_not_found', 400);
    await expectDomainError(subs.subscribe(user, dto('enterprise', { payment_method: 'none' })), 'payment_method_required', 400);
    expect(await ds.getRepository(UserSubscription).countBy({ user_id: user })).toBe(0);
  });

  it('activate: pending → active for one calendar month in APP_TIMEZONE and replaces the old plan atomically', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    const pending = await subs.subscribe(user, dto('enterprise'));
    const now = DateTime.fromISO('2025-01-31T23:30', { zone: KHI }).toJSDate();
    const result = await activation.activate(pending.id, { payment: { provider: 'okx', reference: `pay-${pending.id}` }, now });
    expect(result.applied).toBe(true);
    expect(result.subscription.status).toBe('active');
    expect(local(result.subscription.start_date)).toBe('2025-01-31T23:30');
    expect(local(result.subscription.end_date)).toBe('2025-02-28T23:30');
    expect(result.replaced?.id).toBe(free.id);
    expect(await load(free.id)).toMatchObject({ status: 'cancelled', end_reason: 'replaced', replaced_by_id: pending.id });
    expect((await currentRows(user)).map((s) => s.id)).toEqual([pending.id]);
    const activated = await auditRows(ds, 'subscription.activated', pending.id);
    expect(activated).toHaveLength(1);
    expect(activated[0].data).toMatchObject({ from: 'pending_payment', payment_provider: 'okx', replaced_id: free.id });
  });

  it('activate is idempotent per payment reference and refuses a reference used elsewhere', async () => {
    const user = await createUser(ds);
    const pending = await subs.subscribe(user, dto('enterprise', { billing_cycle: 'yearly' }));
    const payment = { provider: 'stripe' as const, reference: `in_${pending.id}` };
    const first = await activation.activate(pending.id, { payment });
    const second = await activation.activate(pending.id, { payment });
    expect(second.applied).toBe(false);
    expect(second.subscription.end_date?.getTime()).toBe(first.subscription.end_date?.getTime());
    expect(await auditRows(ds, 'subscription.activated', pending.id)).toHaveLength(1);
    const periods = (await ds.query('SELECT count(*)::int AS n FROM subscription_periods WHERE subscription_id = $1', [pending.id])) as Array<{ n: number }>;
    expect(periods[0].n).toBe(1);
    // Yearly: one calendar year.
    expect(DateTime.fromJSDate(first.subscription.end_date as Date).diff(DateTime.fromJSDate(first.subscription.start_date as Date), 'years').years).toBeCloseTo(1, 5);

    const other = await subs.subscribe(await createUser(ds), dto('enterprise'));
    await expectDomainError(activation.activate(other.id, { payment }), 'payment_reference_conflict', 409);
    expect((await load(other.id)).status).toBe('pending_payment');
  });

  it('two concurrent activations with the same payment extend once', async () => {
    const user = await createUser(ds);
    const pending = await subs.subscribe(user, dto('enterprise'));
    const payment = { provider: 'okx' as const, reference: `race-${pending.id}` };
    const results = await Promise.all([activation.activate(pending.id, { payment }), activation.activate(pending.id, { payment })]);
    expect(results.map((r) => r.applied).sort()).toEqual([false, true]);
    expect(await auditRows(ds, 'subscription.activated', pending.id)).toHaveLength(1);
  });

  it('renewal: a new payment on active extends on the anchor grid (Jan 31 → Feb 28 → Mar 31); an older Stripe period never shortens it', async () => {
    const user = await createUser(ds);
    const pending = await subs.subscribe(user, dto('pro'));
    // pro has a trial; this user had none, so the first subscribe started it. Cancel and go paid.
    if (pending.status === 'trial') {
      await subs.cancel(user, pending.id);
    }
    const paid = await subs.subscribe(user, dto('pro'));
    expect(paid.status).toBe('pending_payment');
    const start = DateTime.fromISO('2025-01-31T10:00', { zone: KHI }).toJSDate();
    await activation.activate(paid.id, { payment: { provider: 'okx', reference: `r1-${paid.id}` }, now: start });
    const r2 = await activation.activate(paid.id, { payment: { provider: 'okx', reference: `r2-${paid.id}` } });
    expect(local(r2.subscription.end_date)).toBe('2025-03-31T10:00');
    expect(await auditRows(ds, 'subscription.renewed', paid.id)).toHaveLength(1);
    const stale = await activation.activate(paid.id, {
      payment: { provider: 'stripe', reference: `in_old_${paid.id}` },
      periodStart: DateTime.fromISO('2025-01-31T10:00', { zone: KHI }).toJSDate(),
      periodEnd: DateTime.fromISO('2025-02-28T10:00', { zone: KHI }).toJSDate(),
    });
    expect(stale.applied).toBe(true);
    expect(local(stale.subscription.end_date)).toBe('2025-03-31T10:00');
  });

  it('a trial paid early starts its paid period at the trial end', async () => {
    const user = await createUser(ds);
    const trial = await subs.subscribe(user, dto('pro'));
    expect(trial.status).toBe('trial');
    const res = await activation.activate(trial.id, { payment: { provider: 'okx', reference: `t-${trial.id}` } });
    expect(res.subscription.status).toBe('active');
    expect(res.subscription.period_anchor?.getTime()).toBe(trial.end_date?.getTime());
    expect(local(res.subscription.end_date)).toBe(
      DateTime.fromJSDate(trial.end_date as Date, { zone: KHI }).plus({ months: 1 }).toFormat("yyyy-MM-dd'T'HH:mm"),
    );
    expect(res.replaced).toBeNull();
  });

  it('past_due → active when the renewal is paid', async () => {
    const user = await createUser(ds);
    const pending = await subs.subscribe(user, dto('enterprise'));
    const start = new Date(Date.now() - 32 * 86_400_000);
    await activation.activate(pending.id, { payment: { provider: 'okx', reference: `p1-${pending.id}` }, now: start });
    await ds.query(`UPDATE user_subscriptions SET status = 'past_due' WHERE id = $1`, [pending.id]);
    const before = await load(pending.id);
    const res = await activation.activate(pending.id, { payment: { provider: 'okx', reference: `p2-${pending.id}` } });
    expect(res.subscription.status).toBe('active');
    expect(res.subscription.end_date!.getTime()).toBeGreaterThan(before.end_date!.getTime());
  });

  it('illegal activations: cancelled, expired and free subscriptions are 409; unknown id is 404', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    await expectDomainError(activation.activate(free.id, { payment: { provider: 'okx', reference: `f-${free.id}` } }), 'invalid_state', 409);
    const pending = await subs.subscribe(user, dto('enterprise'));
    await subs.cancel(user, pending.id);
    await expectDomainError(activation.activate(pending.id, { payment: { provider: 'okx', reference: `c-${pending.id}` } }), 'invalid_state', 409);
    await ds.query(`UPDATE user_subscriptions SET status = 'expired' WHERE id = $1`, [free.id]);
    await expectDomainError(activation.activate(free.id, { payment: { provider: 'okx', reference: `e-${free.id}` } }), 'invalid_state', 409);
    await expectDomainError(activation.activate('00000000-0000-4000-8000-000000000000', { payment: { provider: 'okx', reference: 'x' } }), 'not_found', 404);
  });

  it('cancel now: a current subscription ends at once and its bots are told; pending cancels without notice', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    const pending = await subs.subscribe(user, dto('enterprise'));
    const cancelledPending = await subs.cancel(user, pending.id);
    expect(cancelledPending).toMatchObject({ status: 'cancelled', end_reason: 'cancelled_by_user' });
    expect(h.listener.events.filter((e) => e.user_id === user)).toHaveLength(0);

    const cancelled = await subs.cancel(user, free.id, { actorId: user, ip: '10.0.0.9' });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.ended_at).toBeInstanceOf(Date);
    expect(h.listener.events.filter((e) => e.user_id === user)).toEqual([
      { subscription_id: free.id, user_id: user, plan_type: 'custom_bot', reason: 'cancelled_by_user' },
    ]);
    const audit = await auditRows(ds, 'subscription.cancelled', free.id);
    expect(audit).toHaveLength(1);
    expect(audit[0].data).toMatchObject({ from: 'active', reason: 'cancelled_by_user' });

    await expectDomainError(subs.cancel(user, free.id), 'invalid_state', 409);
    await ds.query(`UPDATE user_subscriptions SET status = 'expired' WHERE id = $1`, [pending.id]);
    await expectDomainError(subs.cancel(user, pending.id), 'invalid_state', 409);
    // After cancelling, the user can subscribe again.
    expect((await subs.subscribe(user, dto('free', { payment_method: 'none' }))).status).toBe('active');
  });

  it('another user\'s subscription is 404 for get, update and cancel', async () => {
    const owner = await createUser(ds);
    const intruder = await createUser(ds);
    const sub = await subs.subscribe(owner, dto('free', { payment_method: 'none' }));
    await expectDomainError(subs.get(intruder, sub.id), 'not_found', 404);
    await expectDomainError(subs.update(intruder, sub.id, { auto_renew: false }), 'not_found', 404);
    await expectDomainError(subs.cancel(intruder, sub.id), 'not_found', 404);
    expect((await load(sub.id)).status).toBe('active');
  });

  it('PATCH: schedules the end of a paid period, toggles auto_renew; refuses it on free, pending and ended ones', async () => {
    const user = await createUser(ds);
    const free = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    await expectDomainError(subs.update(user, free.id, { cancel_at_period_end: true }), 'invalid_state', 409);
    await expectDomainError(subs.update(user, free.id, { auto_renew: true }), 'invalid_state', 409);
    const pending = await subs.subscribe(user, dto('enterprise'));
    await expectDomainError(subs.update(user, pending.id, { cancel_at_period_end: true }), 'invalid_state', 409);
    expect((await subs.update(user, pending.id, { auto_renew: false })).auto_renew).toBe(false);
    await activation.activate(pending.id, { payment: { provider: 'okx', reference: `u-${pending.id}` } });
    const updated = await subs.update(user, pending.id, { cancel_at_period_end: true, auto_renew: false });
    expect(updated).toMatchObject({ status: 'active', cancel_at_period_end: true, auto_renew: false });
    const audit = await auditRows(ds, 'subscription.updated', pending.id);
    expect(audit.map((a) => a.data.changes)).toEqual([{ auto_renew: false }, { cancel_at_period_end: true }]);
    // A no-op PATCH writes nothing.
    await subs.update(user, pending.id, {});
    expect(await auditRows(ds, 'subscription.updated', pending.id)).toHaveLength(2);
    await expectDomainError(subs.update(user, free.id, { auto_renew: false }), 'invalid_state', 409);
  });

  it('the database refuses a second current subscription of a type even without the service', async () => {
    const user = await createUser(ds);
    const insert = (status: string) =>
      ds.query(
        `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, start_date, end_date)
         VALUES ($1, $2, 'custom_bot', $3, 'monthly', 'crypto', now(), now() + interval '1 month')`,
        [user, plans.pro, status],
      );
    await insert('active');
    await expect(insert('past_due')).rejects.toThrow(/user_subscriptions_one_current/);
    await insert('pending_payment');
    await expect(insert('pending_payment')).rejects.toThrow(/user_subscriptions_one_pending/);
    await insert('expired');
    await insert('cancelled');
    // plan_type must match the plan's.
    await expect(
      ds.query(
        `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method) VALUES ($1, $2, 'managed_bot', 'pending_payment', 'monthly', 'crypto')`,
        [user, plans.pro],
      ),
    ).rejects.toThrow(/user_subscriptions_plan_fk/);
  });

  it('two concurrent subscribe requests of the same type leave exactly one current subscription', async () => {
    for (let i = 0; i < 5; i++) {
      const user = await createUser(ds);
      const results = await Promise.allSettled([
        subs.subscribe(user, dto('free', { payment_method: 'none' })),
        subs.subscribe(user, dto('free', { payment_method: 'none' })),
        subs.subscribe(user, dto('pro')),
      ]);
      expect(await currentRows(user)).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as DomainError).status).toBe(409);
      }
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    }
    // Same paid plan twice at once: one pending row, both callers get it.
    const user = await createUser(ds);
    await ds.query(`INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, start_date, end_date, trial_ends_at)
      VALUES ($1, $2, 'custom_bot', 'expired', 'monthly', 'crypto', now(), now(), now())`, [user, plans.pro]);
    const [a, b] = await Promise.all([subs.subscribe(user, dto('pro')), subs.subscribe(user, dto('pro'))]);
    expect(a.id).toBe(b.id);
    expect(a.status).toBe('pending_payment');
  });

  it('lists the user\'s subscriptions newest first with pagination', async () => {
    const user = await createUser(ds);
    const first = await subs.subscribe(user, dto('free', { payment_method: 'none' }));
    await subs.cancel(user, first.id);
    const second = await subs.subscribe(user, dto('enterprise'));
    const q = Object.assign(new (await import('@torgovo/core')).PageQuery(), { page: 1, limit: 1 });
    const p1 = await subs.list(user, q);
    expect(p1.total).toBe(2);
    expect(p1.items.map((s) => s.id)).toEqual([second.id]);
    expect(p1.items[0].plan?.code).toBe('enterprise');
  });
});
