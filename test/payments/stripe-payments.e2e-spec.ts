import { createTestApp } from '../support/app';
import { nowSec } from '../fakes/stripe/stripe-wire';
import { calendarEnd, createStripeHarness, linePeriod, StripeHarness, STRIPE_UA } from './stripe-support';

interface User {
  id: string;
  access_token: string;
}

describe('Stripe payments (real stripe library against a local fake, real PostgreSQL)', () => {
  let h: StripeHarness;

  beforeAll(async () => {
    h = await createStripeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A user who went through Checkout for `plan` and paid: returns the ids and Stripe objects. */
  async function paidUser(plan = 'enterprise'): Promise<{ user: User; subId: string; paymentId: string; stripeSubId: string; invoiceId: string; session: Record<string, unknown>; invoice: Record<string, unknown>; subscription: Record<string, unknown> }> {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, plan);
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    return {
      user,
      subId: res.body.subscription_id,
      paymentId: res.body.payment_id,
      stripeSubId: String(paid.subscription.id),
      invoiceId: String(paid.invoice.id),
      ...paid,
    };
  }

  it('full upgrade flow: checkout → checkout.session.completed → invoice.paid → active, payment completed, history, audit', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    expect(res.body.checkout_url).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    expect(res.body.session_id).toMatch(/^cs_test_/);

    const created = h.fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!;
    expect(created.params).toMatchObject({
      mode: 'subscription',
      allow_promotion_codes: 'true',
      line_items: [{ price: 'price_ent_monthly', quantity: '1' }],
      success_url: 'https://app.torgovo.test/billing/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.torgovo.test/billing/cancel',
      metadata: { user_id: user.id, payment_id: res.body.payment_id, subscription_id: res.body.subscription_id },
      subscription_data: { metadata: { subscription_id: res.body.subscription_id } },
    });
    expect(created.idempotencyKey).toBe(`checkout-${res.body.payment_id}`);
    const customerReq = h.fake.requestsTo('POST', '/v1/customers').find((r) => (r.params.metadata as Record<string, string>).user_id === user.id)!;
    expect(customerReq.idempotencyKey).toBe(`customer-create-${user.id}`);
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');

    // A double click hands out the same open session.
    const again = await h.checkout(user.access_token, 'enterprise');
    expect(again.status).toBe(201);
    expect(again.body.session_id).toBe(res.body.session_id);

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    const sub = await h.sub(res.body.subscription_id);
    expect(sub.status).toBe('active');
    expect(sub.stripe_subscription_id).toBe(paid.subscription.id);
    const periodEnd = calendarEnd(linePeriod(paid.invoice).start);
    expect(sub.end_date!.getTime()).toBe(periodEnd);

    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).end_date!.getTime()).toBe(periodEnd);

    const history = await h.t.request<{ items: Array<Record<string, unknown>>; total: number }>('GET', '/api/payments/history', { token: user.access_token });
    expect(history.status).toBe(200);
    expect(history.body.total).toBe(1);
    expect(history.body.items[0]).toMatchObject({
      payment_id: res.body.payment_id,
      kind: 'subscription',
      provider: 'stripe',
      plan: { code: 'enterprise' },
      amount_usd: '99.00',
      currency: 'USD',
      status: 'completed',
      crypto_currency: null,
      tx_hash: null,
    });
    expect(history.body.items[0].confirmed_at).toEqual(expect.any(String));

    const audit = (await h.t.db.dataSource.query(
      `SELECT event_type, ip, user_agent FROM audit_logs WHERE user_id = $1 AND event_type LIKE 'payment.%' ORDER BY created_at`,
      [user.id],
    )) as Array<{ event_type: string; ip: string | null; user_agent: string | null }>;
    const types = audit.map((a) => a.event_type);
    expect(types).toEqual(expect.arrayContaining(['payment.customer_created', 'payment.checkout_created', 'payment.completed', 'payment.stripe_event']));
    expect(audit.filter((a) => a.event_type === 'payment.stripe_event').every((a) => a.user_agent === STRIPE_UA && a.ip)).toBe(true);
    expect(audit.find((a) => a.event_type === 'payment.checkout_created')!.ip).toBeTruthy();

    const portal = await h.t.request<{ url: string }>('POST', '/api/payments/portal', { token: user.access_token });
    expect(portal.status).toBe(200);
    expect(portal.body.url).toMatch(/^https:\/\/billing\.stripe\.com\//);
  });

  it('refuses the plan the user already has (409) and a plan without a Stripe price (400)', async () => {
    const { user } = await paidUser();
    // Activate it through the webhook first.
    const sessionObj = [...h.fake.sessions.values()].find((s) => (s.metadata as Record<string, string>).user_id === user.id)!;
    await h.deliver(h.fake.event('checkout.session.completed', sessionObj));
    const dup = await h.checkout(user.access_token, 'enterprise');
    expect(dup.status).toBe(409);
    const noPrice = await h.checkout(user.access_token, 'managed_premium');
    expect(noPrice.status).toBe(400);
    expect(noPrice.body).toMatchObject({ code: 'stripe_price_missing' });
  });

  it('two concurrent checkouts of one user create one Stripe customer', async () => {
    const user = await h.t.register();
    const [a, b] = await Promise.all([h.checkout(user.access_token, 'enterprise'), h.checkout(user.access_token, 'enterprise')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const created = h.fake.requestsTo('POST', '/v1/customers').filter((r) => (r.params.metadata as Record<string, string>).user_id === user.id);
    expect(created.length).toBe(1);
    expect(await h.count('SELECT count(*) AS n FROM users WHERE id = $1 AND stripe_customer_id IS NOT NULL', [user.id])).toBe(1);
  });

  it('a replayed event changes nothing the second time', async () => {
    const u = await paidUser();
    const evt = h.fake.event('invoice.paid', u.invoice);
    expect((await h.deliver(evt)).status).toBe(200);
    const first = await h.sub(u.subId);
    expect((await h.deliver(evt)).status).toBe(200);
    expect(await h.sub(u.subId)).toEqual(first);
    expect(await h.count(`SELECT count(*) AS n FROM processed_events WHERE event_id = $1`, [evt.id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [u.subId])).toBe(1);
  });

  it('invoice.paid before checkout.session.completed activates once (metadata on the invoice), then the session is a no-op', async () => {
    const u = await paidUser();
    expect((await h.deliver(h.fake.event('invoice.paid', u.invoice))).status).toBe(200);
    const afterInvoice = await h.sub(u.subId);
    expect(afterInvoice.status).toBe('active');
    expect((await h.deliver(h.fake.event('checkout.session.completed', u.session))).status).toBe(200);
    expect(await h.sub(u.subId)).toEqual(afterInvoice);
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [u.subId])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE subscription_id = $1`, [u.subId])).toBe(1);
  });

  it('customer.subscription.updated older than the stored state does not undo it (Stripe is re-read)', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('invoice.paid', u.invoice));
    const t0 = nowSec();
    // The customer cancels in the Customer Portal: Stripe's state changes, then its event arrives.
    h.fake.subscriptions.get(u.stripeSubId)!.cancel_at_period_end = true;
    const cancelling = { ...u.subscription, cancel_at_period_end: true };
    await h.deliver(h.fake.event('customer.subscription.updated', cancelling, t0 + 10));
    expect((await h.sub(u.subId)).cancel_at_period_end).toBe(true);
    // An older snapshot (before the customer chose to cancel in the portal) arrives late.
    const res = await h.deliver(h.fake.event('customer.subscription.updated', { ...u.subscription, cancel_at_period_end: false }, t0 + 5));
    expect(res.status).toBe(200);
    expect((await h.sub(u.subId)).cancel_at_period_end).toBe(true);
    const outcome = (await h.t.db.dataSource.query(`SELECT outcome FROM processed_events WHERE type = 'customer.subscription.updated' ORDER BY received_at DESC LIMIT 1`)) as Array<{ outcome: string }>;
    expect(outcome[0].outcome).toBe('stale');
  });

  it('a change made just before an invoice but delivered after it is applied (re-read from Stripe), not dropped as stale', async () => {
    const u = await paidUser();
    const t0 = nowSec();
    // The customer sets cancel-at-period-end in the Portal at t0; Stripe then pays a renewal at t0 + 5.
    h.fake.subscriptions.get(u.stripeSubId)!.cancel_at_period_end = true;
    const change = h.fake.event('customer.subscription.updated', { ...u.subscription, cancel_at_period_end: true }, t0);
    expect((await h.deliver(h.fake.event('invoice.paid', u.invoice, t0 + 5))).status).toBe(200);
    expect((await h.sub(u.subId)).cancel_at_period_end).toBe(false);
    // The earlier change is delivered last: Stripe's current state is applied.
    expect((await h.deliver(change)).status).toBe(200);
    expect((await h.sub(u.subId)).cancel_at_period_end).toBe(true);
  });

  it('a subscription event in the same second as the stored state is re-read from Stripe: off→on→off within a second, delivered out of order, ends off', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('invoice.paid', u.invoice));
    const t = nowSec() + 5;
    expect((await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { cancel_at_period_end: true } })).status).toBe(200);
    const evtOn = h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(u.stripeSubId)!, t);
    expect((await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { cancel_at_period_end: false } })).status).toBe(200);
    const evtOff = h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(u.stripeSubId)!, t);
    expect(h.fake.subscriptions.get(u.stripeSubId)!.cancel_at_period_end).toBe(false);

    // Stripe may deliver them in either order; both carry the same `created` second.
    const reads = h.fake.requestsTo('GET', `/v1/subscriptions/${u.stripeSubId}`).length;
    await h.deliver(evtOff);
    await h.deliver(evtOn);
    expect(h.fake.requestsTo('GET', `/v1/subscriptions/${u.stripeSubId}`).length).toBe(reads + 1); // only the tie is re-read
    // Our row follows Stripe's actual state; otherwise the sweep would expire it at end_date while Stripe charges.
    expect((await h.sub(u.subId)).cancel_at_period_end).toBe(false);
  });

  it('failed renewal → past_due; the retried invoice is paid → active with the next period; a late failure changes nothing', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('invoice.paid', u.invoice));
    const before = await h.sub(u.subId);
    const failed = h.fake.renew(u.stripeSubId, false);
    const failEvt = h.fake.event('invoice.payment_failed', failed.invoice, nowSec() + 1);
    await h.deliver(failEvt);
    expect((await h.sub(u.subId)).status).toBe('past_due');
    const failedRow = (await h.t.db.dataSource.query(`SELECT kind, status, amount_usd FROM payments WHERE stripe_invoice_id = $1`, [failed.invoice.id])) as Array<Record<string, string>>;
    expect(failedRow[0]).toMatchObject({ kind: 'renewal', status: 'failed', amount_usd: '99.00' });

    const recovered = h.fake.payInvoice(String(failed.invoice.id));
    await h.deliver(h.fake.event('invoice.paid', recovered.invoice, nowSec() + 2));
    const after = await h.sub(u.subId);
    expect(after.status).toBe('active');
    // Two calendar months from the first period's start (APP_TIMEZONE), whatever Stripe's own period end.
    expect(after.end_date!.getTime()).toBe(calendarEnd(linePeriod(u.invoice).start, 2));
    expect(after.end_date!.getTime()).toBeGreaterThan(before.end_date!.getTime());
    // The same failure delivered again (Stripe retry of the old event) is a duplicate; a stale copy too.
    await h.deliver(failEvt);
    await h.deliver(h.fake.event('invoice.payment_failed', failed.invoice, nowSec() - 100));
    expect((await h.sub(u.subId)).status).toBe('active');
    const row = (await h.t.db.dataSource.query(`SELECT status FROM payments WHERE stripe_invoice_id = $1`, [failed.invoice.id])) as Array<Record<string, string>>;
    expect(row[0].status).toBe('completed');
  });

  it('cancel at period end is mirrored to Stripe; deletion at period end expires it and stops its bots', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('invoice.paid', u.invoice));
    const patch = await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { cancel_at_period_end: true } });
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ cancel_at_period_end: true, status: 'active' });
    const upd = h.fake.requestsTo('POST', `/v1/subscriptions/${u.stripeSubId}`).at(-1)!;
    expect(upd.params).toMatchObject({ cancel_at_period_end: 'true' });
    expect(h.fake.subscriptions.get(u.stripeSubId)!.cancel_at_period_end).toBe(true);

    // Stripe confirms (no-op), then ends the subscription at period end.
    await h.deliver(h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(u.stripeSubId)!, nowSec() + 1));
    const ended = h.fake.endAtPeriodEnd(u.stripeSubId);
    const notified = h.t.logs.lines.filter((l) => l.includes('Subscription end listeners notified')).length;
    expect((await h.deliver(h.fake.event('customer.subscription.deleted', ended, nowSec() + 2))).status).toBe(200);
    const sub = await h.sub(u.subId);
    expect(sub).toMatchObject({ status: 'expired', end_reason: 'cancelled_at_period_end' });
    // The end listeners (custom-bots, managed-bots stop the user's bots) ran once for it.
    expect(h.t.logs.lines.filter((l) => l.includes('Subscription end listeners notified')).length).toBe(notified + 1);
  });

  it('DELETE (cancel now) of a Stripe subscription cancels it at Stripe; the deleted webhook is then a no-op', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('invoice.paid', u.invoice));
    const del = await h.t.request('DELETE', `/api/subscriptions/${u.subId}`, { token: u.user.access_token });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ status: 'cancelled' });
    expect(h.fake.subscriptions.get(u.stripeSubId)!.status).toBe('canceled');
    await h.deliver(h.fake.event('customer.subscription.deleted', h.fake.subscriptions.get(u.stripeSubId)!, nowSec() + 1));
    expect((await h.sub(u.subId)).status).toBe('cancelled');
  });

  it('rejects a bad signature and a signature older than 300 s with 400, writing nothing', async () => {
    const u = await paidUser();
    const evt = h.fake.event('invoice.paid', u.invoice);
    const before = await h.count('SELECT count(*) AS n FROM processed_events');
    const bad = await h.deliver(evt, { secret: 'whsec_not_the_secret' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_signature' });
    const old = await h.deliver(evt, { timestamp: nowSec() - 301 });
    expect(old.status).toBe(400);
    const garbage = await h.deliver(evt, { signature: 't=1,v1=deadbeef' });
    expect(garbage.status).toBe(400);
    // Tampered body under a valid signature of another payload.
    const payload = JSON.stringify(evt);
    const res = await h.t.request('POST', '/api/payments/webhook', { raw: payload.replace('"paid"', '"open"'), headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' } });
    expect(res.status).toBe(400);
    expect(await h.count('SELECT count(*) AS n FROM processed_events')).toBe(before);
    expect((await h.sub(u.subId)).status).toBe('pending_payment');
  });

  it('an event for an unknown customer is logged, answered 200, and changes nothing', async () => {
    const u = await paidUser();
    const stranger = { ...u.invoice, id: 'in_stranger', customer: 'cus_unknown000' };
    const before = await h.sub(u.subId);
    const res = await h.deliver(h.fake.event('invoice.paid', stranger));
    expect(res.status).toBe(200);
    expect(await h.sub(u.subId)).toEqual(before);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE stripe_invoice_id = 'in_stranger'`)).toBe(0);
    expect(h.t.logs.text()).toContain('unknown customer');
  });

  it('100 concurrent deliveries of the same event make one state change', async () => {
    const u = await paidUser();
    const evt = h.fake.event('invoice.paid', u.invoice);
    const results = await Promise.all(Array.from({ length: 100 }, () => h.deliver(evt)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await h.sub(u.subId)).status).toBe('active');
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [u.subId])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM audit_logs WHERE event_type = 'subscription.activated' AND user_id = $1`, [u.user.id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM audit_logs WHERE event_type = 'payment.completed' AND user_id = $1`, [u.user.id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM processed_events WHERE event_id = $1`, [evt.id])).toBe(1);
  });

  it("another user's subscription ids are 404, and history shows only one's own payments", async () => {
    const u = await paidUser();
    const other = await h.t.register();
    expect((await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: other.access_token, body: { cancel_at_period_end: true } })).status).toBe(404);
    expect((await h.t.request('DELETE', `/api/subscriptions/${u.subId}`, { token: other.access_token })).status).toBe(404);
    const hist = await h.t.request<{ total: number }>('GET', '/api/payments/history', { token: other.access_token });
    expect(hist.body.total).toBe(0);
    // The portal needs a billing account of one's own.
    expect((await h.t.request('POST', '/api/payments/portal', { token: other.access_token })).status).toBe(409);
  });

  it('renewal invoices extend the period once each and are listed as renewals', async () => {
    const u = await paidUser();
    await h.deliver(h.fake.event('checkout.session.completed', u.session));
    const renewed = h.fake.renew(u.stripeSubId, true);
    await h.deliver(h.fake.event('invoice.paid', renewed.invoice));
    await h.deliver(h.fake.event('invoice.paid', renewed.invoice));
    expect((await h.sub(u.subId)).end_date!.getTime()).toBe(calendarEnd(linePeriod(u.invoice).start, 2));
    const hist = await h.t.request<{ items: Array<{ kind: string; status: string }> }>('GET', '/api/payments/history', { token: u.user.access_token });
    expect(hist.body.items.map((i) => `${i.kind}:${i.status}`)).toEqual(['renewal:completed', 'subscription:completed']);
  });

  it('accepts the pre-2025 object shapes (period and subscription at the top level)', async () => {
    const u = await paidUser();
    const legacy: Record<string, unknown> = { ...u.invoice, subscription: u.stripeSubId, parent: null, subscription_details: { metadata: { subscription_id: u.subId } } };
    legacy.lines = { data: [{ ...(u.invoice.lines as { data: Array<Record<string, unknown>> }).data[0], parent: null, subscription: u.stripeSubId }] };
    expect((await h.deliver(h.fake.event('invoice.paid', legacy))).status).toBe(200);
    expect((await h.sub(u.subId)).status).toBe('active');
  });

  it('a card trial: started without a card, Checkout attaches with trial_end, the $0 invoice links it, the first charge activates', async () => {
    const user = await h.t.register();
    const trial = await h.t.request<{ id: string; status: string; end_date: string }>('POST', '/api/subscriptions', {
      token: user.access_token,
      body: { plan_id: h.plans.pro, billing_cycle: 'monthly', payment_method: 'stripe', auto_renew: true },
    });
    expect(trial.status).toBe(201);
    expect(trial.body.status).toBe('trial');
    const trialEnd = new Date(trial.body.end_date).getTime();
    expect(trialEnd - Date.now()).toBeGreaterThan(6 * 86_400_000); // Pro's seeded 7-day trial

    // Checkout pays the existing trial (no second subscription, not a 409) and asks Stripe for
    // a trial ending 3 h before ours, so the first charge lands before our sweep would expire it.
    const res = await h.checkout(user.access_token, 'pro');
    expect(res.status).toBe(201);
    expect(res.body.subscription_id).toBe(trial.body.id);
    const created = h.fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!;
    expect((created.params.subscription_data as Record<string, string>).trial_end).toBe(String(Math.floor((trialEnd - 3 * 3_600_000) / 1000)));

    const paid = h.fake.completeCheckout(res.body.session_id);
    expect(paid.subscription.status).toBe('trialing');
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    let sub = await h.sub(trial.body.id);
    expect(sub).toMatchObject({ status: 'trial', stripe_subscription_id: paid.subscription.id }); // card on file: renewing
    expect(sub.end_date!.getTime()).toBe(trialEnd); // the $0 invoice grants nothing
    const outcomes = (await h.t.db.dataSource.query(`SELECT type, outcome FROM processed_events WHERE user_id = $1 ORDER BY received_at`, [user.id])) as Array<{ type: string; outcome: string }>;
    expect(outcomes.find((o) => o.type === 'invoice.paid')!.outcome).toBe('trial_linked');

    // The trial ends at Stripe and the card is charged: active for the first paid month.
    const charged = h.fake.renew(paid.subscription.id as string, true);
    expect((await h.deliver(h.fake.event('invoice.paid', charged.invoice, nowSec() + 1))).status).toBe(200);
    sub = await h.sub(trial.body.id);
    expect(sub).toMatchObject({ status: 'active' });
    expect(sub.end_date!.getTime()).toBe(calendarEnd(linePeriod(charged.invoice).start));
    const hist = await h.t.request<{ items: Array<{ amount_usd: string; status: string }> }>('GET', '/api/payments/history', { token: user.access_token });
    expect(hist.body.items.map((i) => `${i.amount_usd}:${i.status}`)).toContain('29.00:completed');
    expect(await h.count(`SELECT count(*) AS n FROM user_subscriptions WHERE user_id = $1`, [user.id])).toBe(1);
  });

  it('a card trial whose first charge fails is past_due, not active', async () => {
    const user = await h.t.register();
    const trial = await h.t.request<{ id: string }>('POST', '/api/subscriptions', {
      token: user.access_token,
      body: { plan_id: h.plans.pro, billing_cycle: 'monthly', payment_method: 'stripe', auto_renew: true },
    });
    const res = await h.checkout(user.access_token, 'pro');
    const paid = h.fake.completeCheckout(res.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));
    await h.deliver(h.fake.event('invoice.paid', paid.invoice));
    const declined = h.fake.renew(paid.subscription.id as string, false);
    expect((await h.deliver(h.fake.event('invoice.payment_failed', declined.invoice, nowSec() + 1))).status).toBe(200);
    expect((await h.sub(trial.body.id)).status).toBe('past_due');
  });

  it('a $0 first charge after a card trial (100 % promotion code) activates it for the paid period', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'pro');
    const paid = h.fake.completeCheckout(res.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));
    await h.deliver(h.fake.event('invoice.paid', paid.invoice));
    expect((await h.sub(res.body.subscription_id)).status).toBe('trial');

    // The trial ends at Stripe: the first real invoice (billing_reason subscription_cycle), fully discounted.
    const inv = h.fake.renew(String(paid.subscription.id), true).invoice;
    Object.assign(inv, { amount_due: 0, amount_paid: 0, subtotal: 2900, total: 0, total_discount_amounts: [{ amount: 2900, discount: 'di_100off' }] });
    expect((await h.deliver(h.fake.event('invoice.paid', inv, nowSec() + 1))).status).toBe(200);
    const sub = await h.sub(res.body.subscription_id);
    expect({ status: sub.status, end: sub.end_date!.getTime() }).toEqual({ status: 'active', end: calendarEnd(linePeriod(inv).start) });
  });

  it('a card trial too close to its end for a Stripe trial is charged at once: that first invoice activates it, even before checkout.session.completed', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'pro');
    expect((await h.sub(res.body.subscription_id)).status).toBe('trial');
    // A day left: Stripe needs 48 h for trial_end, so a new Checkout charges now.
    await h.t.db.dataSource.query(`UPDATE user_subscriptions SET end_date = now() + interval '1 day' WHERE id = $1`, [res.body.subscription_id]);
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() WHERE id = $1`, [res.body.payment_id]);
    const again = await h.checkout(user.access_token, 'pro');
    expect(again.status).toBe(201);
    expect(h.fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!.params.subscription_data).not.toHaveProperty('trial_end');
    const paid = h.fake.completeCheckout(again.body.session_id);
    expect(paid.invoice).toMatchObject({ billing_reason: 'subscription_create', amount_paid: 2900 });
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    const sub = await h.sub(res.body.subscription_id);
    expect({ status: sub.status, end: sub.end_date!.getTime() }).toEqual({ status: 'active', end: calendarEnd(linePeriod(paid.invoice).start) });
  });

  it('cancel_at_period_end chosen on a card trial before its card is on file is set at Stripe when the trial gets its Stripe subscription', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'pro'); // trial, Checkout (with trial_end) open
    expect(res.status).toBe(201);
    const patch = await h.t.request('PATCH', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token, body: { cancel_at_period_end: true } });
    expect(patch).toMatchObject({ status: 200, body: { status: 'trial', cancel_at_period_end: true } });

    const paid = h.fake.completeCheckout(res.body.session_id); // the user then enters the card in the open Checkout
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    const local = await h.sub(res.body.subscription_id);
    expect(local.stripe_subscription_id).toBe(paid.subscription.id);
    expect({ ours: local.cancel_at_period_end, stripe: h.fake.subscriptions.get(String(paid.subscription.id))!.cancel_at_period_end }).toEqual({ ours: true, stripe: true });
    expect(h.fake.requestsTo('POST', `/v1/subscriptions/${String(paid.subscription.id)}`)).toHaveLength(1); // once, on linking
  });

  it('cancelling an unpaid card checkout (pending, or a trial without a card yet) expires its Checkout Session and cancels the payment', async () => {
    for (const plan of ['enterprise', 'pro'] as const) {
      const user = await h.t.register();
      const res = await h.checkout(user.access_token, plan);
      expect(res.status).toBe(201);
      expect((await h.sub(res.body.subscription_id)).status).toBe(plan === 'pro' ? 'trial' : 'pending_payment');
      const del = await h.t.request('DELETE', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token });
      expect(del).toMatchObject({ status: 200, body: { status: 'cancelled' } });
      expect(h.fake.requestsTo('POST', `/v1/checkout/sessions/${res.body.session_id}/expire`)).toHaveLength(1);
      expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND status = 'cancelled'`, [res.body.payment_id])).toBe(1);
    }
  });

  it('checkout.session.expired expires the pending payment of that session and changes nothing else', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    const session = h.fake.sessions.get(res.body.session_id)!;
    session.status = 'expired';
    const { line_items: _omit, ...wire } = session;
    expect((await h.deliver(h.fake.event('checkout.session.expired', wire))).status).toBe(200);
    const hist = await h.t.request<{ items: Array<{ payment_id: string; status: string }> }>('GET', '/api/payments/history', { token: user.access_token });
    expect(hist.body.items.map((p) => [p.payment_id, p.status])).toEqual([[res.body.payment_id, 'expired']]);
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment'); // the pending sweep ends it
    const [processed] = (await h.t.db.dataSource.query(`SELECT outcome FROM processed_events WHERE type = 'checkout.session.expired' AND user_id = $1`, [user.id])) as Array<{ outcome: string }>;
    expect(processed.outcome).toBe('payment_expired');
  });

  it('never writes the Stripe secret key or webhook secret to a response or a log line', () => {
    const logs = h.t.logs.text();
    expect(logs).not.toContain(h.secretKey);
    expect(logs).not.toContain(h.webhookSecret);
    expect(logs).not.toContain(h.secretKey.slice(-12));
  });
});

describe('Stripe payments disabled', () => {
  it('every payment endpoint is 503 payments_not_configured without Stripe keys; history still works', async () => {
    const t = await createTestApp();
    try {
      const user = await t.register();
      const plans = (await t.db.dataSource.query(`SELECT id FROM subscription_plans WHERE code = 'enterprise'`)) as Array<{ id: string }>;
      const checkout = await t.request('POST', '/api/payments/create-checkout', { token: user.access_token, body: { plan_id: plans[0].id, billing_cycle: 'monthly' } });
      expect(checkout.status).toBe(503);
      expect(checkout.body).toMatchObject({ code: 'payments_not_configured' });
      expect((await t.request('POST', '/api/payments/portal', { token: user.access_token })).status).toBe(503);
      const hook = await t.request('POST', '/api/payments/webhook', { raw: '{"id":"evt_1"}', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' } });
      expect(hook.status).toBe(503);
      expect((await t.request('GET', '/api/payments/history', { token: user.access_token })).status).toBe(200);
      expect(await t.db.dataSource.query('SELECT 1 FROM processed_events')).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});

