import { BillingSweeps, SubscriptionActivationService } from '@torgovo/subscriptions';
import { StripeCancelOutboxWorker } from '@torgovo/payments';
import { nowSec, Wire } from '../fakes/stripe/stripe-wire';
import { createTestApp } from '../support/app';
import { BillingHarness, bootBilling } from '../subscriptions/billing-harness';
import { calendarEnd, createStripeHarness, linePeriod, STRIPE_UA, StripeHarness } from './stripe-support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface User {
  id: string;
  access_token: string;
}

/**
 * The card subscription's lifecycle (issue 10): what the user declined is never charged, money is
 * never taken for nothing, the plan follows the billed price, periods follow the product calendar.
 * Each case is an interleaving of our requests, the billing sweep and Stripe's events, with the
 * real stripe library against the local fake Stripe, on real PostgreSQL.
 */
describe('Card subscription lifecycle (issue 10)', () => {
  let h: StripeHarness;
  let worker: BillingHarness;

  beforeAll(async () => {
    h = await createStripeHarness();
    worker = await bootBilling(h.t.db, h.env);
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
  });

  const sweep = (at: number): Promise<unknown> => worker.get(BillingSweeps).expireDue(new Date(at));
  const audits = async (event: string, subId: string): Promise<Array<{ actor_id: string | null; ip: string | null; user_agent: string | null; data: Record<string, unknown> }>> =>
    (await h.t.db.dataSource.query(
      `SELECT actor_id, ip, user_agent, data FROM audit_logs WHERE event_type = $1 AND data->>'subscription_id' = $2 ORDER BY created_at, id`,
      [event, subId],
    )) as Array<{ actor_id: string | null; ip: string | null; user_agent: string | null; data: Record<string, unknown> }>;
  const refundsOf = (invoiceId: unknown): Wire[] => [...h.fake.refunds.values()].filter((r) => r.payment_intent === h.fake.paymentIntents.get(String(invoiceId)));
  const planOf = async (subId: string): Promise<{ code: string; billing_cycle: string }> =>
    ((await h.t.db.dataSource.query(`SELECT p.code, s.billing_cycle FROM user_subscriptions s JOIN subscription_plans p ON p.id = s.plan_id WHERE s.id = $1`, [subId])) as Array<{ code: string; billing_cycle: string }>)[0];
  const subscribe = (user: User, plan: string, body: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> & { id: string } }> =>
    h.t.request('POST', '/api/subscriptions', { token: user.access_token, body: { plan_id: h.plans[plan], billing_cycle: 'monthly', payment_method: 'stripe', ...body } });

  async function activeEnterprise(): Promise<{ user: User; subId: string; stripeSubId: string; invoice: Wire }> {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    return { user, subId: res.body.subscription_id, stripeSubId: String(paid.subscription.id), invoice: paid.invoice };
  }

  // ---- 1. a renewal the user turned off is never charged -------------------------------------------

  it('auto_renew false at POST /subscriptions → checkout completes → a late, older customer.subscription.created arrives → auto_renew stays false and Stripe has cancel_at_period_end', async () => {
    const user = await h.t.register();
    const created = await subscribe(user, 'enterprise', { auto_renew: false });
    expect(created).toMatchObject({ status: 201, body: { status: 'pending_payment', auto_renew: false } });
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.body.subscription_id).toBe(created.body.id);
    const paid = h.fake.completeCheckout(res.body.session_id);
    // Stripe sent subscription.created when the customer paid; it reaches us after checkout.session.completed.
    const lateCreated = h.fake.event('customer.subscription.created', paid.subscription, nowSec() - 5);

    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    const stripeSubId = String(paid.subscription.id);
    expect(h.fake.subscriptions.get(stripeSubId)!.cancel_at_period_end).toBe(true);
    expect((await h.deliver(lateCreated)).status).toBe(200);

    const mine = await h.t.request('GET', `/api/subscriptions/${created.body.id}`, { token: user.access_token });
    expect(mine.body).toMatchObject({ status: 'active', auto_renew: false, cancel_at_period_end: false });
    expect(h.fake.subscriptions.get(stripeSubId)!.cancel_at_period_end).toBe(true);
    expect(() => h.fake.renew(stripeSubId, true)).toThrow(/does not renew/);
  });

  it('auto_renew turned off by PATCH while pending, then customer.subscription.created arrives before the checkout: Stripe gets the choice when it is linked', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const off = await h.t.request('PATCH', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token, body: { auto_renew: false } });
    expect(off).toMatchObject({ status: 200, body: { status: 'pending_payment', auto_renew: false } });
    const paid = h.fake.completeCheckout(res.body.session_id);
    // Stripe's own update, sent before we linked it (a snapshot with cancel_at_period_end false), arrives last.
    const olderUpdate = h.fake.event('customer.subscription.updated', paid.subscription, nowSec() - 1);
    expect((await h.deliver(h.fake.event('customer.subscription.created', paid.subscription))).status).toBe(200);
    expect(h.fake.subscriptions.get(String(paid.subscription.id))!.cancel_at_period_end).toBe(true);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    // It does not turn renewal back on: older than our write, it is re-read from Stripe.
    await h.deliver(olderUpdate);
    expect((await h.t.request('GET', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token })).body).toMatchObject({ status: 'active', auto_renew: false });
    expect(h.fake.subscriptions.get(String(paid.subscription.id))!.cancel_at_period_end).toBe(true);
  });

  // ---- 2. money is never taken for nothing ----------------------------------------------------------

  it('session created at hour 60 → sweep at hour 72 → customer pays → subscription active, nothing refunded', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    // The pending subscription was created 60 h before this (new) Checkout Session.
    await h.t.db.dataSource.query(`UPDATE user_subscriptions SET created_at = now() - interval '60 hours' WHERE id = $1`, [res.body.subscription_id]);
    const session = h.fake.sessions.get(res.body.session_id)!;
    expect(Number(session.expires_at)).toBeGreaterThanOrEqual(nowSec() + 24 * 3600 - 60);

    await sweep(Date.now() + 12 * HOUR);
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    expect(refundsOf(paid.invoice.id)).toEqual([]);
    expect(await audits('payment.unapplied', res.body.subscription_id)).toEqual([]);
    // Once the session is gone the pending rule applies again (to a later pending subscription).
  });

  it('a card trial whose Checkout charges at once is not expired under the open session: paid after the trial end, it activates', async () => {
    const user = await h.t.register();
    const trial = await subscribe(user, 'pro');
    expect(trial.body.status).toBe('trial');
    // 12 h of trial left: too short for a Stripe trial, so the session charges at once when paid.
    await h.t.db.dataSource.query(`UPDATE user_subscriptions SET end_date = now() + interval '12 hours' WHERE id = $1`, [trial.body.id]);
    const res = await h.checkout(user.access_token, 'pro');
    expect(h.fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!.params.subscription_data).not.toHaveProperty('trial_end');

    // The trial has ended; the session (24 h) is still open.
    await sweep(Date.now() + 13 * HOUR);
    expect((await h.sub(trial.body.id)).status).toBe('trial');

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect((await h.sub(trial.body.id)).status).toBe('active');
    expect(refundsOf(paid.invoice.id)).toEqual([]);
  });

  it('a bank debit (SEPA): the session completes unpaid, the subscription waits past its pending TTL, async_payment_succeeded activates it once', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const started = h.fake.completeCheckout(res.body.session_id, { async: true });
    expect(started.session.payment_status).toBe('unpaid');
    const done = await h.deliver(h.fake.event('checkout.session.completed', started.session));
    expect(done.status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');

    await sweep(Date.now() + 80 * HOUR);
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');

    const cleared = h.fake.settleAsyncPayment(res.body.session_id, true);
    expect((await h.deliver(h.fake.event('checkout.session.async_payment_succeeded', cleared.session, nowSec() + 1))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    expect((await h.deliver(h.fake.event('invoice.paid', cleared.invoice, nowSec() + 2))).status).toBe(200);
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [res.body.subscription_id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE subscription_id = $1 AND status = 'completed'`, [res.body.subscription_id])).toBe(1);
  });

  it('a bank debit that fails: async_payment_failed fails the payment and the pending subscription expires on its own dates again', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const started = h.fake.completeCheckout(res.body.session_id, { async: true });
    await h.deliver(h.fake.event('checkout.session.completed', started.session));
    const failed = h.fake.settleAsyncPayment(res.body.session_id, false);
    expect((await h.deliver(h.fake.event('checkout.session.async_payment_failed', failed.session, nowSec() + 1))).status).toBe(200);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND status = 'failed' AND failure_reason = 'async_payment_failed'`, [res.body.payment_id])).toBe(1);
    await sweep(Date.now() + 73 * HOUR);
    expect(await h.sub(res.body.subscription_id)).toMatchObject({ status: 'expired', end_reason: 'payment_not_received' });
  });

  it('a bank debit that fails, then a new Checkout paid by card: active, nothing refunded; the failed Stripe subscription is cancelled and its later events change nothing', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const started = h.fake.completeCheckout(res.body.session_id, { async: true });
    expect((await h.deliver(h.fake.event('checkout.session.completed', started.session))).status).toBe(200);
    const failed = h.fake.settleAsyncPayment(res.body.session_id, false);
    expect((await h.deliver(h.fake.event('checkout.session.async_payment_failed', failed.session, nowSec() + 1))).status).toBe(200);
    const deadId = String(started.subscription.id);

    // The user pays again, by card, for the same pending subscription.
    const again = await h.checkout(user.access_token, 'enterprise');
    expect(again).toMatchObject({ status: 201, body: { subscription_id: res.body.subscription_id } });
    const paid = h.fake.completeCheckout(again.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session, nowSec() + 2))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 2))).status).toBe(200);
    // Before: refunded as a "second Stripe subscription", the subscription left pending.
    expect(await h.sub(res.body.subscription_id)).toMatchObject({ status: 'active', stripe_subscription_id: String(paid.subscription.id) });
    expect(refundsOf(paid.invoice.id)).toEqual([]);
    expect(await audits('payment.unapplied', res.body.subscription_id)).toEqual([]);

    // The failed one: ended at Stripe; its own late events do not end or change the card subscription.
    expect(['canceled', 'incomplete_expired']).toContain(h.fake.subscriptions.get(deadId)!.status);
    expect((await h.deliver(h.fake.event('customer.subscription.deleted', { ...h.fake.subscriptions.get(deadId)!, status: 'canceled' }, nowSec() + 3))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    // A plan change later cancels the live Stripe subscription, not the retired one.
    const proRes = await h.checkout(user.access_token, 'pro', 'yearly');
    const proPaid = h.fake.completeCheckout(proRes.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', proPaid.session, nowSec() + 4))).status).toBe(200);
    expect(h.fake.subscriptions.get(String(paid.subscription.id))!.status).toBe('canceled');
  });

  // ---- 3. the plan follows the price -----------------------------------------------------------------

  it('a switch to the Pro price at Stripe makes the local plan Pro; the renewal is Pro for $29', async () => {
    const u = await activeEnterprise();
    const switched = h.fake.switchPrice(u.stripeSubId, 'price_pro_monthly');
    expect((await h.deliver(h.fake.event('customer.subscription.updated', switched, nowSec() + 1))).status).toBe(200);
    expect(await planOf(u.subId)).toEqual({ code: 'pro', billing_cycle: 'monthly' });
    expect((await audits('subscription.plan_changed', u.subId))[0].data).toMatchObject({ to_plan_code: 'pro', actor: 'provider' });

    const renewed = h.fake.renew(u.stripeSubId, true);
    expect(renewed.invoice.amount_paid).toBe(2900);
    expect((await h.deliver(h.fake.event('invoice.paid', renewed.invoice, nowSec() + 2))).status).toBe(200);
    const ent = await h.t.request<{ custom_bot: { plan: { code: string } } }>('GET', '/api/subscriptions/my-subscription', { token: u.user.access_token });
    expect(ent.body.custom_bot.plan.code).toBe('pro');
  });

  it('a renewal paid on Enterprise, then a switch to Pro, and Stripe delivers the invoice.paid after the switch: Pro stays, the period is granted', async () => {
    const u = await activeEnterprise();
    const before = await h.sub(u.subId);
    const renewed = h.fake.renew(u.stripeSubId, true);
    const paidEvent = h.fake.event('invoice.paid', renewed.invoice, nowSec() + 1);
    const switched = h.fake.switchPrice(u.stripeSubId, 'price_pro_monthly');
    expect((await h.deliver(h.fake.event('customer.subscription.updated', switched, nowSec() + 2))).status).toBe(200);
    expect(await planOf(u.subId)).toEqual({ code: 'pro', billing_cycle: 'monthly' });
    // The older event arrives late (a retry): before, the plan went back to Enterprise, which Stripe no longer bills.
    expect((await h.deliver(paidEvent)).status).toBe(200);
    expect(await planOf(u.subId)).toEqual({ code: 'pro', billing_cycle: 'monthly' });
    expect((await h.sub(u.subId)).end_date!.getTime()).toBeGreaterThan(before.end_date!.getTime());
  });

  it('a price no plan sells is refused and audited; its invoice grants nothing and is refunded', async () => {
    const u = await activeEnterprise();
    const before = await h.sub(u.subId);
    h.fake.addPrice('price_foreign_monthly', 500, 'month');
    const switched = h.fake.switchPrice(u.stripeSubId, 'price_foreign_monthly');
    expect((await h.deliver(h.fake.event('customer.subscription.updated', switched, nowSec() + 1))).status).toBe(200);
    expect(await planOf(u.subId)).toEqual({ code: 'enterprise', billing_cycle: 'monthly' });
    expect((await audits('subscription.price_refused', u.subId))[0]).toMatchObject({ actor_id: null, user_agent: STRIPE_UA, data: { price: 'price_foreign_monthly', actor: 'provider' } });

    const renewed = h.fake.renew(u.stripeSubId, true);
    expect((await h.deliver(h.fake.event('invoice.paid', renewed.invoice, nowSec() + 2))).status).toBe(200);
    expect((await h.sub(u.subId)).end_date).toEqual(before.end_date);
    expect(refundsOf(renewed.invoice.id)).toEqual([expect.objectContaining({ amount: 500 })]);
    expect((await audits('payment.unapplied', u.subId)).map((a) => a.data.code)).toEqual(['unknown_price']);
  });

  /** A new card plan sold at `monthly` (an admin creates it: its price is recorded as the plan's). */
  let planSeq = 0;
  async function pricedPlan(monthly: string): Promise<{ id: string; admin: string }> {
    const admin = await h.t.admin();
    h.fake.addPrice(monthly, 1900, 'month');
    const created = await h.t.request<{ id: string }>('POST', '/api/subscription-plans', {
      token: admin.access_token,
      body: { code: `repriced_${++planSeq}_${Date.now()}`, plan_type: 'custom_bot', name: 'Repriced', monthly_price: '19.00', yearly_price: '190.00', stripe_monthly_price_id: monthly },
    });
    expect(created.status).toBe(201);
    return { id: created.body.id, admin: admin.access_token };
  }
  const repriceMonthly = (plan: { id: string; admin: string }, price: string | null): Promise<{ status: number; body: Record<string, unknown> }> =>
    h.t.request('PATCH', `/api/subscription-plans/${plan.id}`, { token: plan.admin, body: { stripe_monthly_price_id: price } });

  it("an admin changes the plan's Stripe price: a subscriber still billed the old price renews (period extended, nothing refunded)", async () => {
    const plan = await pricedPlan(`price_old_${Date.now()}`);
    const user = await h.t.register();
    const res = await h.t.request<{ session_id: string; subscription_id: string }>('POST', '/api/payments/create-checkout', { token: user.access_token, body: { plan_id: plan.id, billing_cycle: 'monthly' } });
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    const before = await h.sub(res.body.subscription_id);
    expect(before.status).toBe('active');

    // New checkouts sell the new price; Stripe keeps billing this subscriber the old one.
    const next = `price_new_${Date.now()}`;
    h.fake.addPrice(next, 2400, 'month');
    expect((await repriceMonthly(plan, next)).status).toBe(200);
    const stripeSubId = String(paid.subscription.id);
    const updated = h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(stripeSubId)!, nowSec() + 1);
    expect((await h.deliver(updated)).status).toBe(200);
    const renewed = h.fake.renew(stripeSubId, true);
    expect((await h.deliver(h.fake.event('invoice.paid', renewed.invoice, nowSec() + 2))).status).toBe(200);

    // Before: price_refused, the renewal refunded, end_date unchanged (and expired after the grace).
    const after = await h.sub(res.body.subscription_id);
    expect(after.status).toBe('active');
    expect(after.end_date!.getTime()).toBeGreaterThan(before.end_date!.getTime());
    expect(refundsOf(renewed.invoice.id)).toEqual([]);
    expect(await audits('subscription.price_refused', res.body.subscription_id)).toEqual([]);
    expect(await audits('payment.unapplied', res.body.subscription_id)).toEqual([]);

    // Cleared (null): the plan stops selling monthly; the subscriber's price is still the plan's.
    expect((await repriceMonthly(plan, null)).status).toBe(200);
    const again = h.fake.renew(stripeSubId, true);
    expect((await h.deliver(h.fake.event('invoice.paid', again.invoice, nowSec() + 3))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).end_date!.getTime()).toBeGreaterThan(after.end_date!.getTime());
    expect(refundsOf(again.invoice.id)).toEqual([]);
  });

  it('a Checkout opened before the price change and paid after it activates, nothing refunded, whichever event comes first', async () => {
    const plan = await pricedPlan(`price_before_${Date.now()}`);
    const user = await h.t.register();
    const res = await h.t.request<{ session_id: string; subscription_id: string }>('POST', '/api/payments/create-checkout', { token: user.access_token, body: { plan_id: plan.id, billing_cycle: 'monthly' } });
    expect(res.status).toBe(201);
    const next = `price_after_${Date.now()}`;
    h.fake.addPrice(next, 2400, 'month');
    expect((await repriceMonthly(plan, next)).status).toBe(200);

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    // Before: the invoice.paid of the same invoice refunded it, the subscription staying active for the period.
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 1))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    expect(refundsOf(paid.invoice.id)).toEqual([]);
    expect(await audits('payment.unapplied', res.body.subscription_id)).toEqual([]);
  });

  it('a Checkout paid at a price no plan has on record (replaced before prices were recorded) is refused by checkout.session.completed as by its invoice.paid: never active with the money returned', async () => {
    const legacy = `price_legacy_${Date.now()}`;
    const plan = await pricedPlan(legacy);
    const user = await h.t.register();
    const res = await h.t.request<{ session_id: string; subscription_id: string }>('POST', '/api/payments/create-checkout', { token: user.access_token, body: { plan_id: plan.id, billing_cycle: 'monthly' } });
    expect(res.status).toBe(201);
    await h.t.db.dataSource.query(`DELETE FROM plan_stripe_prices WHERE price_id = $1`, [legacy]);

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 1))).status).toBe(200);
    // Before: activated by the session (for the period), then refunded by the invoice.
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');
    expect(refundsOf(paid.invoice.id)).toHaveLength(1);
    expect((await audits('payment.unapplied', res.body.subscription_id)).map((a) => a.data.code)).toEqual(['unknown_price']);
  });

  it("PATCH refuses (409 stripe_price_taken) a price another plan or the plan's other cycle ever had; the plan's own earlier price is taken back", async () => {
    const first = `price_mine_${Date.now()}`;
    const plan = await pricedPlan(first);
    expect(await repriceMonthly(plan, 'price_pro_monthly')).toMatchObject({ status: 409, body: { code: 'stripe_price_taken' } });
    const yearly = await h.t.request('PATCH', `/api/subscription-plans/${plan.id}`, { token: plan.admin, body: { stripe_yearly_price_id: first } });
    expect(yearly).toMatchObject({ status: 409, body: { code: 'stripe_price_taken' } });
    expect((await repriceMonthly(plan, `price_mine2_${Date.now()}`)).status).toBe(200);
    expect((await repriceMonthly(plan, first)).body).toMatchObject({ stripe_monthly_price_id: first });
    // A replaced price stays its plan's: another plan cannot take it after the plan moved on.
    expect((await repriceMonthly(plan, `price_mine3_${Date.now()}`)).status).toBe(200);
    const other = await pricedPlan(`price_other_${Date.now()}`);
    expect(await repriceMonthly(other, first)).toMatchObject({ status: 409, body: { code: 'stripe_price_taken' } });
    const created = await h.t.request('POST', '/api/subscription-plans', {
      token: plan.admin,
      body: { code: `dup_price_${Date.now()}`, plan_type: 'custom_bot', name: 'Dup', monthly_price: '1.00', yearly_price: '10.00', stripe_monthly_price_id: 'price_ent_monthly' },
    });
    expect(created).toMatchObject({ status: 409, body: { code: 'stripe_price_taken' } });
  });

  it('the Customer Portal opens with our configuration (no plan switch, cancel at period end only) and returns to the billing page', async () => {
    const u = await activeEnterprise();
    const first = await h.t.request<{ url: string }>('POST', '/api/payments/portal', { token: u.user.access_token });
    const second = await h.t.request<{ url: string }>('POST', '/api/payments/portal', { token: u.user.access_token });
    expect([first.status, second.status]).toEqual([200, 200]);
    const configs = h.fake.requestsTo('POST', '/v1/billing_portal/configurations');
    expect(configs).toHaveLength(1);
    expect(configs[0].params.features).toMatchObject({
      subscription_update: { enabled: 'false' },
      subscription_cancel: { enabled: 'true', mode: 'at_period_end' },
      payment_method_update: { enabled: 'true' },
    });
    const sessions = h.fake.requestsTo('POST', '/v1/billing_portal/sessions').slice(-2);
    const configId = [...h.fake.portalConfigurations.keys()][0];
    for (const s of sessions) {
      expect(s.params.configuration).toBe(configId);
      expect(String(s.params.return_url)).toMatch(/\/billing$/);
      expect(String(s.params.return_url)).not.toContain('{CHECKOUT_SESSION_ID}');
    }
  });

  // ---- 4. a plan change credits the paid time it replaces --------------------------------------------

  it('Pro yearly → Pro monthly: the yearly Stripe subscription is cancelled with proration, its unused time credited and used by the next invoices', async () => {
    const user = await h.t.register();
    const yearly = await h.checkout(user.access_token, 'pro', 'yearly');
    const trialPaid = h.fake.completeCheckout(yearly.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', trialPaid.session));
    const charged = h.fake.renew(String(trialPaid.subscription.id), true); // the card trial ends: $290 for a year
    await h.deliver(h.fake.event('invoice.paid', charged.invoice, nowSec() + 1));
    expect((await h.sub(yearly.body.subscription_id)).status).toBe('active');
    // The fake's year started at the trial's end; move it to now so nearly all of it is unused.
    const item = ((h.fake.subscriptions.get(String(trialPaid.subscription.id))!.items as Wire).data as Wire[])[0];
    Object.assign(item, { current_period_start: nowSec() - 3600, current_period_end: nowSec() - 3600 + 365 * 86_400 });

    const monthly = await h.checkout(user.access_token, 'pro', 'monthly');
    expect(monthly.status).toBe(201);
    const paid = h.fake.completeCheckout(monthly.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 2))).status).toBe(200);
    expect({ old: (await h.sub(yearly.body.subscription_id)).status, now: (await h.sub(monthly.body.subscription_id)).status }).toEqual({ old: 'cancelled', now: 'active' });

    const cancel = h.fake.requestsTo('DELETE', `/v1/subscriptions/${String(trialPaid.subscription.id)}`);
    expect(cancel.map((r) => r.params)).toEqual([{ prorate: 'true', invoice_now: 'true' }]);
    const customer = h.fake.customers.get(String(paid.subscription.customer))!;
    expect(Number(customer.balance)).toBeLessThanOrEqual(-28_900);
    expect(Number(customer.balance)).toBeGreaterThanOrEqual(-29_000);
    expect((await audits('payment.stripe_cancelled', yearly.body.subscription_id))[0].data).toMatchObject({ reason: 'replaced', proration: 'credit_unused_time', actor: 'provider' });

    // The next monthly renewal is paid from the credit: $0 charged, a month granted.
    const before = (await h.sub(monthly.body.subscription_id)).end_date!.getTime();
    const next = h.fake.renew(String(paid.subscription.id), true);
    expect(next.invoice.amount_paid).toBe(0);
    expect((await h.deliver(h.fake.event('invoice.paid', next.invoice, nowSec() + 3))).status).toBe(200);
    expect((await h.sub(monthly.body.subscription_id)).end_date!.getTime()).toBeGreaterThan(before);
    expect(refundsOf(next.invoice.id)).toEqual([]);
  });

  it('Pro monthly renewed at Stripe (its invoice.paid not here yet) → a plan change → the late invoice.paid: the period is paid back once (refunded), not also credited by proration', async () => {
    const user = await h.t.register();
    const monthly = await h.checkout(user.access_token, 'pro', 'monthly');
    const first = h.fake.completeCheckout(monthly.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', first.session));
    const stripeSubId = String(first.subscription.id);
    // The card trial ends: the first month charged and granted.
    const charged = h.fake.renew(stripeSubId, true);
    await h.deliver(h.fake.event('invoice.paid', charged.invoice, nowSec() + 1));
    expect((await h.sub(monthly.body.subscription_id)).status).toBe('active');
    // Stripe renews and collects; the webhook for it is late.
    const renewal = h.fake.renew(stripeSubId, true);

    const yearly = await h.checkout(user.access_token, 'pro', 'yearly');
    const paid = h.fake.completeCheckout(yearly.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 2))).status).toBe(200);
    expect((await h.sub(monthly.body.subscription_id)).status).toBe('cancelled');
    // Cancelled without proration: the period under way was never granted here.
    expect(h.fake.requestsTo('DELETE', `/v1/subscriptions/${stripeSubId}`).map((r) => r.params)).toEqual([{}]);
    expect(Number(h.fake.customers.get(String(paid.subscription.customer))!.balance ?? 0)).toBe(0);
    expect((await audits('payment.stripe_cancelled', monthly.body.subscription_id))[0].data).toMatchObject({ reason: 'replaced', proration: 'none_current_period_not_applied' });

    // The late renewal: refunded in full, once — the only time that money goes back.
    expect((await h.deliver(h.fake.event('invoice.paid', renewal.invoice, nowSec() + 3))).status).toBe(200);
    expect(refundsOf(renewal.invoice.id)).toHaveLength(1);
  });

  // ---- 5. one calendar for card and crypto periods ----------------------------------------------------

  it('a card period and a crypto period paid at the same instant end on the same local day (calendar months in APP_TIMEZONE)', async () => {
    // 2027-01-31 02:00 in Asia/Karachi is 2027-01-30 21:00 UTC: UTC month steps would end on Mar 1 local.
    const start = Date.UTC(2027, 0, 30, 21, 0, 0);
    const card = await h.t.register();
    const res = await h.checkout(card.access_token, 'enterprise');
    const paid = h.fake.completeCheckout(res.body.session_id, { periodStart: start / 1000 });
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));

    const crypto = await h.t.register();
    const pending = await subscribe(crypto, 'enterprise', { payment_method: 'crypto' });
    await h.t.app.get(SubscriptionActivationService).activate(pending.body.id, { payment: { provider: 'okx', reference: `dep_${pending.body.id}` }, periodStart: new Date(start) });

    const cardEnd = (await h.sub(res.body.subscription_id)).end_date!.getTime();
    const cryptoEnd = (await h.sub(pending.body.id)).end_date!.getTime();
    expect(new Date(cardEnd).toISOString()).toBe('2027-02-27T21:00:00.000Z'); // Feb 28 02:00 local
    expect(cardEnd).toBe(cryptoEnd);
    expect(cardEnd).toBe(calendarEnd(start / 1000));
  });

  // ---- 6. a card renewal is not past_due before Stripe says so ----------------------------------------

  it('the sweep at end_date leaves a Stripe-renewed subscription active (no past_due, no audit row); its renewal extends it; unpaid past the grace it expires', async () => {
    const u = await activeEnterprise();
    const end = (await h.sub(u.subId)).end_date!.getTime();
    await sweep(end + HOUR);
    expect((await h.sub(u.subId)).status).toBe('active');
    expect(await audits('subscription.past_due', u.subId)).toEqual([]);
    const renewed = h.fake.renew(u.stripeSubId, true);
    await h.deliver(h.fake.event('invoice.paid', renewed.invoice, nowSec() + 1));
    const newEnd = (await h.sub(u.subId)).end_date!.getTime();
    expect(newEnd).toBe(calendarEnd(linePeriod(u.invoice).start, 2));

    await sweep(newEnd + 3 * DAY + HOUR);
    expect(await h.sub(u.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_overdue' });
    expect(await audits('subscription.past_due', u.subId)).toEqual([]);
    // The cancellation outbox stops Stripe; the job's audit row names the system.
    await worker.get(StripeCancelOutboxWorker).tick(new Date(Date.now() + DAY));
    expect((await audits('payment.stripe_cancelled', u.subId))[0]).toMatchObject({ actor_id: null, data: { actor: 'system', reason: 'payment_overdue' } });
  });

  // ---- 7. honest actors ------------------------------------------------------------------------------

  it('money events name their actor: the provider (with the webhook IP and user agent) for activation, the user for closing a checkout', async () => {
    const user = await h.t.register();
    const a = await h.checkout(user.access_token, 'enterprise');
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() + interval '5 minutes' WHERE id = $1`, [a.body.payment_id]);
    const b = await h.checkout(user.access_token, 'enterprise');
    const closed = await audits('payment.checkout_closed', a.body.subscription_id);
    expect(closed).toEqual([expect.objectContaining({ actor_id: user.id, data: expect.objectContaining({ payment_ids: [a.body.payment_id], actor: 'user' }) })]);
    expect(closed[0].ip).toBeTruthy();

    const paid = h.fake.completeCheckout(b.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));
    const [activated] = await audits('subscription.activated', b.body.subscription_id);
    expect(activated).toMatchObject({ actor_id: null, user_agent: STRIPE_UA, data: { actor: 'provider' } });
    expect(activated.ip).toBeTruthy();
    const [completed] = (await h.t.db.dataSource.query(`SELECT actor_id, data FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'payment_id' = $1`, [b.body.payment_id])) as Array<{ actor_id: string | null; data: Record<string, unknown> }>;
    expect(completed).toMatchObject({ actor_id: null, data: { actor: 'provider' } });
  });

  // ---- 8. smaller ------------------------------------------------------------------------------------

  it('invoice.payment_succeeded is handled as invoice.paid, once for both', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.payment_succeeded', paid.invoice))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [res.body.subscription_id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'subscription_id' = $1`, [res.body.subscription_id])).toBe(1);
  });

  it('a validly signed body that is not an event object is 400 and writes nothing', async () => {
    const before = await h.count(`SELECT count(*) AS n FROM processed_events`);
    for (const body of [[], { id: 'evt_x', type: 'invoice.paid', created: 'yesterday', data: { object: {} } }]) {
      const res = await h.deliver(body as unknown as Wire);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'invalid_event' });
    }
    expect(await h.count(`SELECT count(*) AS n FROM processed_events`)).toBe(before);
    expect(h.t.logs.text()).not.toContain('0NaN');
  });

  it('a trial that replaced Free and ends unpaid gives the Free plan back', async () => {
    const user = await h.t.register();
    const free = await subscribe(user, 'free', { payment_method: 'none' });
    expect(free.body.status).toBe('active');
    const trial = await subscribe(user, 'pro', { payment_method: 'crypto' });
    expect(trial.body.status).toBe('trial');
    const end = (await h.sub(trial.body.id)).end_date!.getTime();
    await sweep(end + 60_000);
    expect(await h.sub(trial.body.id)).toMatchObject({ status: 'expired', end_reason: 'trial_ended' });
    const mine = await h.t.request<{ custom_bot: { status: string; plan: { code: string } } | null }>('GET', '/api/subscriptions/my-subscription', { token: user.access_token });
    expect(mine.body.custom_bot).toMatchObject({ status: 'active', plan: { code: 'free' } });
  });
});

describe('Without Stripe configured (issue 10, item 8)', () => {
  it('a card trial is refused (503) instead of starting one nothing can convert; the admin still lists a deactivated plan', async () => {
    const t = await createTestApp();
    try {
      const user = await t.register();
      const plans = Object.fromEntries(((await t.db.dataSource.query('SELECT id, code FROM subscription_plans')) as Array<{ id: string; code: string }>).map((r) => [r.code, r.id]));
      const card = await t.request('POST', '/api/subscriptions', { token: user.access_token, body: { plan_id: plans.pro, billing_cycle: 'monthly', payment_method: 'stripe' } });
      expect({ status: card.status, code: card.body.code }).toEqual({ status: 503, code: 'payments_not_configured' });
      expect(await t.db.dataSource.query('SELECT id FROM user_subscriptions WHERE user_id = $1', [user.id])).toEqual([]);

      const admin = await t.admin();
      expect((await t.request('DELETE', `/api/subscription-plans/${plans.enterprise}`, { token: admin.access_token })).status).toBe(200);
      const all = await t.request<{ items: Array<{ code: string; is_active: boolean }> }>('GET', '/api/subscription-plans/admin?limit=200', { token: admin.access_token });
      expect(all.status).toBe(200);
      expect(all.body.items).toContainEqual(expect.objectContaining({ code: 'enterprise', is_active: false }));
      const inactive = await t.request<{ items: Array<{ code: string }> }>('GET', '/api/subscription-plans/admin?is_active=false', { token: admin.access_token });
      expect(inactive.body.items.map((p) => p.code)).toEqual(['enterprise']);
      expect((await t.request('GET', '/api/subscription-plans/admin', { token: user.access_token })).status).toBe(403);
      const pub = await t.request<{ items: Array<{ code: string }> }>('GET', '/api/subscription-plans');
      expect(pub.body.items.map((p) => p.code)).not.toContain('enterprise');
    } finally {
      await t.close();
    }
  });
});
