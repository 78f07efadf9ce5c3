import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import { Payment } from '@torgovo/payments';
import {
  BillingScheduler,
  BillingSweeps,
  EntitlementsService,
  nextPeriodEnd,
  SubscriptionActivationService,
  UserSubscription,
} from '@torgovo/subscriptions';
import { seedDueSubscriptions } from '../../bench/billing-sweep/seed';
import { createTestDatabase, TestDatabase } from '../support/database';
import { BillingHarness, bootBilling, createUser, planByCode, planIds } from './billing-harness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Fixture {
  plan: string;
  planType?: 'custom_bot' | 'managed_bot';
  status: string;
  method?: 'crypto' | 'stripe' | 'none';
  autoRenew?: boolean;
  cancelAtPeriodEnd?: boolean;
  end: Date | null;
  createdAt?: Date;
  cycle?: 'monthly' | 'yearly';
}

describe('BillingScheduler on PostgreSQL', () => {
  let db: TestDatabase;
  let h: BillingHarness;
  let ds: DataSource;
  let plans: Record<string, string>;

  async function fixture(f: Fixture): Promise<string> {
    const user = await createUser(ds, 'sched');
    const start = f.status === 'pending_payment' ? null : new Date(Date.now() - 40 * DAY);
    const [row] = (await ds.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew,
         cancel_at_period_end, start_date, end_date, period_anchor, trial_ends_at, created_at)
       VALUES ($1, $2, $3, $4::varchar, $5, $6, $7, $8, $9, $10, $10, CASE WHEN $4::varchar = 'trial' THEN $10::timestamptz END, $11)
       RETURNING id`,
      [
        user,
        plans[f.plan],
        f.planType ?? 'custom_bot',
        f.status,
        f.cycle ?? 'monthly',
        f.method ?? 'crypto',
        f.autoRenew ?? true,
        f.cancelAtPeriodEnd ?? false,
        start,
        f.end,
        f.createdAt ?? new Date(),
      ],
    )) as Array<{ id: string }>;
    return row.id;
  }
  const load = (id: string): Promise<UserSubscription> => ds.getRepository(UserSubscription).findOneByOrFail({ id });
  const auditCount = async (event: string, id: string): Promise<number> => {
    const [r] = (await ds.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = $1 AND data->>'subscription_id' = $2`, [event, id])) as Array<{ n: number }>;
    return r.n;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    h = await bootBilling(db);
    ds = h.ds;
    plans = await planIds(ds);
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('applies each expiry rule once, tells the end listeners only about lost access, and audits each move', async () => {
    const now = Date.now();
    const ids = {
      renewableJustEnded: await fixture({ plan: 'enterprise', status: 'active', end: new Date(now - HOUR) }),
      stripeJustEnded: await fixture({ plan: 'enterprise', status: 'active', method: 'stripe', end: new Date(now - HOUR) }),
      renewableLongEnded: await fixture({ plan: 'enterprise', status: 'active', end: new Date(now - 4 * DAY) }),
      cancelAtEnd: await fixture({ plan: 'enterprise', status: 'active', cancelAtPeriodEnd: true, end: new Date(now - HOUR) }),
      notRenewing: await fixture({ plan: 'enterprise', status: 'active', autoRenew: false, end: new Date(now - HOUR) }),
      trialEnded: await fixture({ plan: 'pro', status: 'trial', end: new Date(now - 60_000) }),
      cardTrialNoCard: await fixture({ plan: 'pro', status: 'trial', method: 'stripe', end: new Date(now - 60_000) }),
      cardTrialLinked: await fixture({ plan: 'pro', status: 'trial', method: 'stripe', end: new Date(now - 60_000) }),
      pastDueOverGrace: await fixture({ plan: 'enterprise', status: 'past_due', end: new Date(now - 3 * DAY - HOUR) }),
      pastDueInGrace: await fixture({ plan: 'enterprise', status: 'past_due', end: new Date(now - DAY) }),
      notDue: await fixture({ plan: 'enterprise', status: 'active', end: new Date(now + DAY) }),
      free: await fixture({ plan: 'free', status: 'active', method: 'none', autoRenew: false, end: null }),
      stalePending: await fixture({ plan: 'enterprise', status: 'pending_payment', end: null, createdAt: new Date(now - 73 * HOUR) }),
      freshPending: await fixture({ plan: 'enterprise', status: 'pending_payment', end: null }),
      managedEnded: await fixture({ plan: 'managed_basic', planType: 'managed_bot', status: 'active', autoRenew: false, end: new Date(now - HOUR) }),
    };
    // A card on file at Stripe: its first charge may land after end_date.
    await ds.query(`UPDATE user_subscriptions SET stripe_subscription_id = 'sub_trial_linked' WHERE id = $1`, [ids.cardTrialLinked]);
    const sweeps = h.get(BillingSweeps);
    const result = await sweeps.expireDue(new Date(now));
    expect(result.rows).toBe(10);

    const expect_ = async (id: string, status: string, reason: string | null) => {
      const s = await load(id);
      expect({ status: s.status, end_reason: s.end_reason }).toEqual({ status, end_reason: reason });
    };
    await expect_(ids.renewableJustEnded, 'past_due', null);
    await expect_(ids.stripeJustEnded, 'past_due', null);
    await expect_(ids.renewableLongEnded, 'expired', 'payment_overdue');
    await expect_(ids.cancelAtEnd, 'expired', 'cancelled_at_period_end');
    await expect_(ids.notRenewing, 'expired', 'period_ended');
    await expect_(ids.trialEnded, 'expired', 'trial_ended');
    await expect_(ids.cardTrialNoCard, 'expired', 'trial_ended');
    // Stripe renews it: past due only when Stripe says so; it keeps access through the grace while Stripe charges.
    await expect_(ids.cardTrialLinked, 'trial', null);
    await expect_(ids.pastDueOverGrace, 'expired', 'payment_overdue');
    await expect_(ids.pastDueInGrace, 'past_due', null);
    await expect_(ids.notDue, 'active', null);
    await expect_(ids.free, 'active', null);
    await expect_(ids.stalePending, 'expired', 'payment_not_received');
    await expect_(ids.freshPending, 'pending_payment', null);
    await expect_(ids.managedEnded, 'expired', 'period_ended');
    expect((await load(ids.notRenewing)).ended_at?.getTime()).toBe(now);

    const told = new Map(h.listener.events.map((e) => [e.subscription_id, e]));
    expect([...told.keys()].sort()).toEqual(
      [ids.renewableLongEnded, ids.cancelAtEnd, ids.notRenewing, ids.trialEnded, ids.cardTrialNoCard, ids.pastDueOverGrace, ids.managedEnded].sort(),
    );
    expect(told.get(ids.trialEnded)?.reason).toBe('trial_ended');
    expect(told.get(ids.managedEnded)?.plan_type).toBe('managed_bot');
    expect(h.listener.batches).toHaveLength(1);

    expect(await auditCount('subscription.past_due', ids.renewableJustEnded)).toBe(1);
    expect(await auditCount('subscription.expired', ids.cancelAtEnd)).toBe(1);
    expect(await auditCount('subscription.expired', ids.stalePending)).toBe(1);

    // A second sweep at the same instant changes nothing and writes nothing.
    const again = await sweeps.expireDue(new Date(now));
    expect(again.rows).toBe(0);
    expect(await auditCount('subscription.past_due', ids.renewableJustEnded)).toBe(1);

    // After the grace period the past_due one expires.
    const later = await sweeps.expireDue(new Date(now + 3 * DAY));
    expect(later.rows).toBeGreaterThanOrEqual(3);
    await expect_(ids.renewableJustEnded, 'expired', 'payment_overdue');
    await expect_(ids.pastDueInGrace, 'expired', 'payment_overdue');
    await expect_(ids.cardTrialLinked, 'expired', 'payment_overdue');
    await expect_(ids.notDue, 'past_due', null);
  });

  it('creates one crypto renewal request per period, N days ahead, and the next one after payment', async () => {
    // Leave only this test's subscriptions current.
    await ds.query(`UPDATE user_subscriptions SET status = 'expired' WHERE status IN ('active', 'trial', 'past_due')`);
    const now = Date.now();
    const tz = 'Asia/Karachi';
    const ids = {
      due: await fixture({ plan: 'enterprise', status: 'active', end: new Date(now + 2 * DAY) }),
      yearly: await fixture({ plan: 'enterprise', status: 'active', cycle: 'yearly', end: new Date(now + DAY) }),
      trial: await fixture({ plan: 'pro', status: 'trial', end: new Date(now + DAY) }),
      pastDue: await fixture({ plan: 'enterprise', status: 'past_due', end: new Date(now - DAY) }),
      tooEarly: await fixture({ plan: 'enterprise', status: 'active', end: new Date(now + 5 * DAY) }),
      stripe: await fixture({ plan: 'enterprise', status: 'active', method: 'stripe', end: new Date(now + DAY) }),
      cancelling: await fixture({ plan: 'enterprise', status: 'active', cancelAtPeriodEnd: true, end: new Date(now + DAY) }),
      noRenew: await fixture({ plan: 'enterprise', status: 'active', autoRenew: false, end: new Date(now + DAY) }),
    };
    const sweeps = h.get(BillingSweeps);
    const payments = ds.getRepository(Payment);
    const r = await sweeps.requestRenewals(new Date(now));
    expect(r.rows).toBe(4);
    const requested = await payments.find({ where: { kind: 'renewal' } });
    expect(requested.map((p) => p.subscription_id).sort()).toEqual([ids.due, ids.yearly, ids.trial, ids.pastDue].sort());

    const due = requested.find((p) => p.subscription_id === ids.due)!;
    const dueSub = await load(ids.due);
    expect(due).toMatchObject({ status: 'pending', provider: null, amount_usd: '99.00', currency: 'USD', billing_cycle: 'monthly' });
    expect(due.period_start?.getTime()).toBe(dueSub.end_date!.getTime());
    expect(due.period_end?.getTime()).toBe(nextPeriodEnd(dueSub.period_anchor!, dueSub.end_date!, 'monthly', tz).getTime());
    expect(due.expires_at?.getTime()).toBe(dueSub.end_date!.getTime() + 3 * DAY);
    expect(requested.find((p) => p.subscription_id === ids.yearly)?.amount_usd).toBe('990.00');
    const trial = requested.find((p) => p.subscription_id === ids.trial)!;
    expect(trial.amount_usd).toBe('29.00');
    expect(trial.expires_at?.getTime()).toBe((await load(ids.trial)).end_date!.getTime());
    const [audits] = (await ds.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'payment.renewal_requested'`)) as Array<{ n: number }>;
    expect(audits.n).toBe(4);

    // Repeats create nothing, even if the subscription-side marker is lost (the payments unique key holds).
    expect((await sweeps.requestRenewals(new Date(now))).rows).toBe(0);
    await ds.query(`UPDATE user_subscriptions SET renewal_requested_for = NULL WHERE id = $1`, [ids.due]);
    expect((await sweeps.requestRenewals(new Date(now))).rows).toBe(1);
    expect(await payments.count({ where: { kind: 'renewal' } })).toBe(4);
    const [audits2] = (await ds.query(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'payment.renewal_requested'`)) as Array<{ n: number }>;
    expect(audits2.n).toBe(4);

    // Paying the request extends to its period_end; the next request comes for the next period.
    const activation = h.get(SubscriptionActivationService);
    await activation.activate(ids.due, {
      payment: { provider: 'okx', reference: due.id },
      periodStart: due.period_start!,
      periodEnd: due.period_end!,
    });
    const renewed = await load(ids.due);
    expect(renewed.end_date?.getTime()).toBe(due.period_end?.getTime());
    const nextTick = new Date(renewed.end_date!.getTime() - DAY);
    expect((await sweeps.requestRenewals(nextTick)).rows).toBeGreaterThanOrEqual(1);
    const second = await payments.find({ where: { kind: 'renewal', subscription_id: ids.due }, order: { period_end: 'ASC' } });
    expect(second).toHaveLength(2);
    expect(second[1].period_start?.getTime()).toBe(renewed.end_date?.getTime());
    expect(DateTime.fromJSDate(second[1].period_end!, { zone: tz }).toISODate()).toBe(
      DateTime.fromJSDate(renewed.period_anchor!, { zone: tz }).plus({ months: 2 }).toISODate(),
    );
  });

  it('the scheduler tick runs under the advisory lock: a second tick at once is skipped', async () => {
    const scheduler = h.get(BillingScheduler);
    const other = await bootBilling(db);
    try {
      const blocker = await ds.createQueryRunner();
      await blocker.connect();
      await blocker.query('SELECT pg_advisory_lock(7204100)');
      try {
        expect(await other.get(BillingScheduler).tick()).toBeNull();
      } finally {
        await blocker.query('SELECT pg_advisory_unlock(7204100)');
        await blocker.release();
      }
      expect(await scheduler.tick()).not.toBeNull();
    } finally {
      await other.close();
    }
  });

  it('a card trial past end_date keeps access through the grace, and the sweep leaves it to Stripe (no past_due of its own)', async () => {
    const user = await createUser(ds, 'rv');
    const end = new Date(Date.now() - HOUR);
    const [row] = (await ds.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew,
         start_date, end_date, trial_ends_at, period_anchor, stripe_subscription_id)
       VALUES ($1, $2, 'custom_bot', 'trial', 'monthly', 'stripe', true, $3, $4, $4, $4, $5) RETURNING id`,
      [user, plans.pro, new Date(end.getTime() - 7 * 24 * HOUR), end, `sub_rv_${user.slice(0, 8)}`],
    )) as Array<{ id: string }>;
    const ent = h.get(EntitlementsService);
    const now = new Date();
    const before = await ent.find(user, 'custom_bot', now);
    await h.get(BillingSweeps).expireDue(now);
    const status = ((await ds.query('SELECT status FROM user_subscriptions WHERE id = $1', [row.id])) as Array<{ status: string }>)[0].status;
    const after = await ent.find(user, 'custom_bot', now);
    expect(status).toBe('trial');
    expect(after).not.toBeNull();
    // Same instant, same row: access must not depend on whether the sweep has run yet.
    expect(before).not.toBeNull();
  });
});

describe('BillingScheduler: 10,000 due subscriptions, two workers at once', () => {
  let db: TestDatabase;
  let w1: BillingHarness;
  let w2: BillingHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    w1 = await bootBilling(db, { BILLING_SWEEP_BATCH: '1000' });
    w2 = await bootBilling(db, { BILLING_SWEEP_BATCH: '1000' });
  });
  afterAll(async () => {
    await w1?.close();
    await w2?.close();
    await db?.drop();
  });

  async function assertEachExpiredOnce(ds: DataSource, expected: number, events: string[]): Promise<void> {
    const [c] = (await ds.query(`SELECT count(*)::int AS n FROM user_subscriptions WHERE status = 'expired'`)) as Array<{ n: number }>;
    expect(c.n).toBe(expected);
    const [a] = (await ds.query(
      `SELECT count(*)::int AS n, count(DISTINCT data->>'subscription_id')::int AS d FROM audit_logs WHERE event_type = 'subscription.expired'`,
    )) as Array<{ n: number; d: number }>;
    expect(a).toEqual({ n: expected, d: expected });
    expect(events).toHaveLength(expected);
    expect(new Set(events).size).toBe(expected);
  }

  it('two schedulers (two DataSources) tick together: each subscription expires once, audited once, bots told once', async () => {
    const pro = (await planByCode(w1.ds, 'enterprise')).id;
    await seedDueSubscriptions(w1.ds, 10_000, { planId: pro });
    const started = Date.now();
    const [a, b] = await Promise.all([w1.get(BillingScheduler).tick(), w2.get(BillingScheduler).tick()]);
    const ms = Date.now() - started;
    const rows = (a?.expired.rows ?? 0) + (b?.expired.rows ?? 0);
    expect(rows).toBe(10_000);
    const events = [...w1.listener.events, ...w2.listener.events].map((e) => e.subscription_id);
    await assertEachExpiredOnce(w1.ds, 10_000, events);
    // One batch = one listener call; 10 batches of 1,000.
    expect(w1.listener.batches.length + w2.listener.batches.length).toBe(10);
    expect(ms).toBeLessThan(30_000);
  });

  it('without the lock, four concurrent sweepers split the rows with SKIP LOCKED and none is moved twice', async () => {
    await w1.ds.query(`DELETE FROM audit_logs`);
    w1.listener.batches.length = 0;
    w2.listener.batches.length = 0;
    await w1.ds.query(`UPDATE user_subscriptions SET status = 'active', end_reason = NULL, ended_at = NULL`);
    const s1 = w1.get(BillingSweeps);
    const s2 = w2.get(BillingSweeps);
    const results = await Promise.all([s1.expireDue(), s2.expireDue(), s1.expireDue(), s2.expireDue()]);
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(10_000);
    const events = [...w1.listener.events, ...w2.listener.events].map((e) => e.subscription_id);
    await assertEachExpiredOnce(w1.ds, 10_000, events);
    const dupes = (await w1.ds.query(
      `SELECT data->>'subscription_id' AS id FROM audit_logs WHERE event_type = 'subscription.expired' GROUP BY 1 HAVING count(*) > 1`,
    )) as unknown[];
    expect(dupes).toEqual([]);
  });
});
