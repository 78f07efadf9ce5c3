import { Decimal } from '@torgovo/core';
import { StripeCancelOutboxWorker, StripeCheckoutService } from '@torgovo/payments';
import { BillingSweeps, SubscriptionsService } from '@torgovo/subscriptions';
import { nowSec, Wire } from '../fakes/stripe/stripe-wire';
import { BillingHarness, bootBilling } from '../subscriptions/billing-harness';
import { pauseOnce } from '../support/pause-once';
import { calendarEnd, createStripeHarness, linePeriod, StripeHarness } from './stripe-support';

/**
 * When our side ends or changes a card subscription, Stripe stops billing it; money that arrives
 * for a subscription that cannot take it is kept on record (for a refund) and its Stripe
 * subscription cancelled. Real stripe library → local fake Stripe, real PostgreSQL.
 */
describe('Stripe billing safety', () => {
  let h: StripeHarness;
  let worker: BillingHarness;

  beforeAll(async () => {
    h = await createStripeHarness();
    worker = await bootBilling(h.t.db, h.env);
  });
  afterEach(() => {
    h.fake.clearFaults();
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
  });

  const stripeStatus = (stripeSubId: string): unknown => h.fake.subscriptions.get(stripeSubId)!.status;
  const unapplied = async (subId: string): Promise<Array<Record<string, unknown>>> =>
    ((await h.t.db.dataSource.query(`SELECT data FROM audit_logs WHERE event_type = 'payment.unapplied' AND data->>'subscription_id' = $1 ORDER BY created_at`, [subId])) as Array<{ data: Record<string, unknown> }>).map((r) => r.data);

  /** A user with a paid, active Enterprise (monthly) billed by Stripe. */
  async function activeEnterprise(): Promise<{ user: { id: string; access_token: string }; subId: string; stripeSubId: string; subscription: Wire }> {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    return { user, subId: res.body.subscription_id, stripeSubId: String(paid.subscription.id), subscription: paid.subscription };
  }

  /** A user on Pro by card: the 7-day card trial, then the first charge at Stripe → active. */
  async function activePro(): Promise<{ user: { id: string; access_token: string }; subId: string; stripeSubId: string }> {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'pro');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));
    const charged = h.fake.renew(String(paid.subscription.id), true);
    await h.deliver(h.fake.event('invoice.paid', charged.invoice, nowSec() + 1));
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    return { user, subId: res.body.subscription_id, stripeSubId: String(paid.subscription.id) };
  }

  it('a plan change whose cancellation of the replaced Stripe subscription fails answers 502 and rolls back; the redelivery completes it', async () => {
    const pro = await activePro();
    const up = await h.checkout(pro.user.access_token, 'enterprise');
    expect(up.status).toBe(201);
    const ent = h.fake.completeCheckout(up.body.session_id);
    const evt = h.fake.event('invoice.paid', ent.invoice);

    // Stripe has a transient 500 on the DELETE of the old Pro subscription.
    h.fake.failRequests((method, path) => method === 'DELETE' && path === `/v1/subscriptions/${pro.stripeSubId}`);
    const failed = await h.deliver(evt);
    expect(failed).toMatchObject({ status: 502, body: { code: 'payment_provider_error' } });
    // Nothing committed, not even the event claim: Stripe's redelivery is applied in full.
    expect(await h.count(`SELECT count(*) AS n FROM processed_events WHERE event_id = $1`, [evt.id])).toBe(0);
    expect({ pro: (await h.sub(pro.subId)).status, ent: (await h.sub(up.body.subscription_id)).status }).toEqual({ pro: 'active', ent: 'pending_payment' });
    expect(stripeStatus(pro.stripeSubId)).toBe('active');

    h.fake.clearFaults();
    expect((await h.deliver(evt)).status).toBe(200);
    expect({ pro: (await h.sub(pro.subId)).status, ent: (await h.sub(up.body.subscription_id)).status }).toEqual({ pro: 'cancelled', ent: 'active' });
    expect(stripeStatus(pro.stripeSubId)).toBe('canceled');
  });

  it('DELETE after the customer paid at Checkout but before the webhook cancels that Stripe subscription at once; the webhooks refund the money, once', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id); // the customer paid at Stripe …
    const stripeSubId = String(paid.subscription.id);
    const del = await h.t.request('DELETE', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token }); // … and cancels before the webhook lands
    expect(del).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(stripeStatus(stripeSubId)).toBe('canceled');
    expect(h.fake.requestsTo('GET', `/v1/checkout/sessions/${res.body.session_id}`)).toHaveLength(1); // the expiry was refused: it was complete
    // The payment stays for its webhook to settle, not "cancelled".
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND status = 'pending'`, [res.body.payment_id])).toBe(1);
    // The admin's revenue for Enterprise (all months), before the webhooks.
    const admin = await h.t.admin();
    const enterpriseRevenue = async () => {
      const rev = await h.t.request<{ by_month_and_plan: Array<{ plan: string; payments: number; revenue_usd: string; refunds: number; refunds_usd: string }> }>(
        'GET',
        '/api/admin/revenue',
        { token: admin.access_token },
      );
      const rows = rev.body.by_month_and_plan.filter((r) => r.plan === 'enterprise');
      return {
        payments: rows.reduce((n, r) => n + r.payments, 0),
        revenue: rows.reduce((n, r) => n.plus(r.revenue_usd), new Decimal(0)),
        refunds: rows.reduce((n, r) => n + r.refunds, 0),
        refunded: rows.reduce((n, r) => n.plus(r.refunds_usd), new Decimal(0)),
      };
    };
    const revenueBefore = await enterpriseRevenue();

    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice))).status).toBe(200);
    expect((await h.sub(res.body.subscription_id)).status).toBe('cancelled');
    // The $99 taken is on record (the checkout's own payment row) and refunded at Stripe, once.
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE subscription_id = $1`, [res.body.subscription_id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND status = 'completed' AND stripe_invoice_id = $2 AND refund_id IS NOT NULL`, [res.body.payment_id, paid.invoice.id])).toBe(1);
    const refunds = [...h.fake.refunds.values()].filter((r) => r.payment_intent === h.fake.paymentIntents.get(String(paid.invoice.id)));
    expect(refunds).toEqual([expect.objectContaining({ amount: 9900, status: 'succeeded' })]);
    expect(await unapplied(res.body.subscription_id)).toEqual([expect.objectContaining({ code: 'invalid_state', stripe_subscription_id: stripeSubId, refund_id: refunds[0].id })]);
    const hist = await h.t.request<{ items: Array<{ payment_id: string; status: string; refunded_at: string | null; failure_reason: string | null }> }>('GET', '/api/payments/history', { token: user.access_token });
    expect(hist.body.items.find((p) => p.payment_id === res.body.payment_id)).toMatchObject({ status: 'completed', refunded_at: expect.any(String), failure_reason: 'unapplied: invalid_state' });
    // Received and refunded, both in the admin's revenue (the payments trigger counted the webhook's writes).
    const revenueAfter = await enterpriseRevenue();
    expect({
      payments: revenueAfter.payments - revenueBefore.payments,
      revenue: revenueAfter.revenue.minus(revenueBefore.revenue).toFixed(),
      refunds: revenueAfter.refunds - revenueBefore.refunds,
      refunded: revenueAfter.refunded.minus(revenueBefore.refunded).toFixed(),
    }).toEqual({ payments: 1, revenue: '99', refunds: 1, refunded: '99' });
  });

  it('a new Checkout while the previous session is still open (< 10 min left to pay) expires the previous session first', async () => {
    const user = await h.t.register();
    const a = await h.checkout(user.access_token, 'enterprise');
    expect(a.status).toBe(201);
    // 23 h 55 min later: session A is still open at Stripe for 5 more minutes, too little to hand out again.
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() + interval '5 minutes' WHERE id = $1`, [a.body.payment_id]);
    h.fake.sessions.get(a.body.session_id)!.expires_at = nowSec() + 300;
    const b = await h.checkout(user.access_token, 'enterprise');
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ subscription_id: a.body.subscription_id });
    expect(b.body.session_id).not.toBe(a.body.session_id);

    expect(h.fake.requestsTo('POST', `/v1/checkout/sessions/${a.body.session_id}/expire`)).toHaveLength(1);
    expect(h.fake.sessions.get(a.body.session_id)!.status).toBe('expired');
    expect(h.fake.sessions.get(b.body.session_id)!.status).toBe('open');
    const hist = await h.t.request<{ items: Array<{ payment_id: string; status: string }> }>('GET', '/api/payments/history', { token: user.access_token });
    expect(Object.fromEntries(hist.body.items.map((p) => [p.payment_id, p.status]))).toEqual({ [a.body.payment_id]: 'expired', [b.body.payment_id]: 'pending' });

    // Once B is near its end too and Stripe already expired it on its own, the refused expiry is harmless.
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() + interval '5 minutes' WHERE id = $1`, [b.body.payment_id]);
    h.fake.sessions.get(b.body.session_id)!.status = 'expired';
    const c = await h.checkout(user.access_token, 'enterprise');
    expect(c.status).toBe(201);
    expect(c.body.session_id).not.toBe(b.body.session_id);
  });

  it('a second paid Checkout for one subscription is recorded, flagged unapplied and cancelled at Stripe: one Stripe billing remains', async () => {
    const user = await h.t.register();
    const a = await h.checkout(user.access_token, 'enterprise');
    expect(a.status).toBe(201);
    // Near its end A is not handed out again: B replaces it and A is expired at Stripe — but the
    // customer's payment of A was already going through (the race Stripe's expire cannot win),
    // and B is paid too. Its webhooks are late.
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() + interval '5 minutes' WHERE id = $1`, [a.body.payment_id]);
    const b = await h.checkout(user.access_token, 'enterprise');
    expect(b.status).toBe(201);
    const paidA = h.fake.completeCheckout(a.body.session_id);
    const paidB = h.fake.completeCheckout(b.body.session_id);

    for (const p of [paidA, paidB]) expect((await h.deliver(h.fake.event('checkout.session.completed', p.session))).status).toBe(200);
    for (const p of [paidA, paidB]) expect((await h.deliver(h.fake.event('invoice.paid', p.invoice))).status).toBe(200);
    const subId = a.body.subscription_id;
    const local = await h.sub(subId);
    expect(local).toMatchObject({ status: 'active', stripe_subscription_id: paidA.subscription.id });
    expect(local.end_date!.getTime()).toBe(calendarEnd(linePeriod(paidA.invoice).start));
    // Each checkout's payment holds its own invoice; B's $99 is kept for a refund.
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND stripe_invoice_id = $2 AND status = 'completed'`, [a.body.payment_id, paidA.invoice.id])).toBe(1);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND stripe_invoice_id = $2 AND status = 'completed'`, [b.body.payment_id, paidB.invoice.id])).toBe(1);
    // B's money is refunded at Stripe, and flagged once (checkout.session.completed and invoice.paid both name it).
    expect((await unapplied(subId)).filter((d) => d.code === 'second_stripe_subscription')).toHaveLength(1);
    const refundsB = [...h.fake.refunds.values()].filter((r) => r.payment_intent === h.fake.paymentIntents.get(String(paidB.invoice.id)));
    expect(refundsB).toEqual([expect.objectContaining({ amount: 9900 })]);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND refund_id = $2`, [b.body.payment_id, refundsB[0].id])).toBe(1);
    expect({ a: stripeStatus(String(paidA.subscription.id)), b: stripeStatus(String(paidB.subscription.id)) }).toEqual({ a: 'active', b: 'canceled' });

    // Stripe's deletion event for B is not ours to apply.
    const deleted = await h.deliver(h.fake.event('customer.subscription.deleted', h.fake.subscriptions.get(String(paidB.subscription.id))!, nowSec() + 1));
    expect(deleted.status).toBe(200);
    expect((await h.sub(subId)).status).toBe('active');
  });

  it('DELETE of a pending card subscription when Stripe answers 5xx to the session expiry is 502 payment_provider_error and changes nothing', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    h.fake.failRequests((method, path) => method === 'POST' && path === `/v1/checkout/sessions/${res.body.session_id}/expire`);
    const del = await h.t.request('DELETE', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token });
    expect({ status: del.status, code: del.body.code }).toEqual({ status: 502, code: 'payment_provider_error' });
    expect((await h.sub(res.body.subscription_id)).status).toBe('pending_payment');
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE id = $1 AND status = 'pending'`, [res.body.payment_id])).toBe(1);
  });

  // ---- the billing sweep (worker) on Stripe-billed subscriptions. These move time forward, so they run last. ----

  it('PATCH auto_renew on a card subscription is mirrored to Stripe as cancel_at_period_end, so Stripe does not renew what the sweep ends', async () => {
    const u = await activeEnterprise();
    const off = await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { auto_renew: false } });
    expect(off).toMatchObject({ status: 200, body: { auto_renew: false, cancel_at_period_end: false } });
    expect(h.fake.requestsTo('POST', `/v1/subscriptions/${u.stripeSubId}`).at(-1)!.params).toEqual({ cancel_at_period_end: 'true' });
    // Stripe's confirmation is our own choice coming back: the row keeps saying auto_renew=false.
    await h.deliver(h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(u.stripeSubId)!, nowSec() + 1));
    expect(await h.sub(u.subId)).toMatchObject({ cancel_at_period_end: false });

    const on = await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { auto_renew: true } });
    expect(on).toMatchObject({ status: 200, body: { auto_renew: true } });
    expect(h.fake.subscriptions.get(u.stripeSubId)!.cancel_at_period_end).toBe(false);
    // Resuming in the Customer Portal after auto_renew=false turns renewal back on here too.
    expect((await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { auto_renew: false } })).status).toBe(200);
    Object.assign(h.fake.subscriptions.get(u.stripeSubId)!, { cancel_at_period_end: false, canceled_at: null });
    await h.deliver(h.fake.event('customer.subscription.updated', h.fake.subscriptions.get(u.stripeSubId)!, nowSec() + 2));
    expect((await h.t.request('GET', `/api/subscriptions/${u.subId}`, { token: u.user.access_token })).body).toMatchObject({ auto_renew: true, cancel_at_period_end: false });
    expect((await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { auto_renew: false } })).status).toBe(200);

    // The sweep ends it at end_date; Stripe does not renew it but ends it too.
    const end = (await h.sub(u.subId)).end_date!.getTime();
    await worker.get(BillingSweeps).expireDue(new Date(end + 60_000));
    expect(await h.sub(u.subId)).toMatchObject({ status: 'expired', end_reason: 'period_ended' });
    expect(() => h.fake.renew(u.stripeSubId, true)).toThrow(/does not renew/);
    expect((await h.deliver(h.fake.event('customer.subscription.deleted', h.fake.endAtPeriodEnd(u.stripeSubId), nowSec() + 3))).status).toBe(200);
    expect(await h.sub(u.subId)).toMatchObject({ status: 'expired', end_reason: 'period_ended' });
  });

  it('the sweep expiring a past_due card subscription queues its cancellation; the outbox job cancels it at Stripe after the commit and Stripe stops retrying', async () => {
    const u = await activeEnterprise();
    const failed = h.fake.renew(u.stripeSubId, false);
    await h.deliver(h.fake.event('invoice.payment_failed', failed.invoice, nowSec() + 1));
    expect((await h.sub(u.subId)).status).toBe('past_due');

    // Stripe's Smart Retries go on for weeks; our grace is 3 days.
    const end = (await h.sub(u.subId)).end_date!.getTime();
    await worker.get(BillingSweeps).expireDue(new Date(end + 4 * 86_400_000));
    expect(await h.sub(u.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_overdue' });
    // The sweep's transaction only queued it; Stripe is called by the job.
    expect(stripeStatus(u.stripeSubId)).toBe('past_due');
    const queued = (await h.t.db.dataSource.query(`SELECT subscription_id, reason, done_at FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1`, [u.stripeSubId])) as Array<Record<string, unknown>>;
    expect(queued).toEqual([{ subscription_id: u.subId, reason: 'payment_overdue', done_at: null }]);

    expect((await worker.get(StripeCancelOutboxWorker).tick())?.failed).toBe(0);
    expect(stripeStatus(u.stripeSubId)).toBe('canceled');
    const cancel = h.fake.requestsTo('DELETE', `/v1/subscriptions/${u.stripeSubId}`);
    expect(cancel.map((r) => r.idempotencyKey)).toEqual([`cancel-ended-${u.subId}`]);
    expect(await h.count(`SELECT count(*) AS n FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1 AND done_at IS NOT NULL`, [u.stripeSubId])).toBe(1);
    // Stripe stops automatic collection of a cancelled subscription's invoices: the day-5 retry never comes.
    expect(() => h.fake.payInvoice(String(failed.invoice.id))).toThrow(/automatic collection/);
    // Done rows are not worked again.
    await worker.get(StripeCancelOutboxWorker).tick();
    expect(h.fake.requestsTo('DELETE', `/v1/subscriptions/${u.stripeSubId}`)).toHaveLength(1);
  });

  it('a renewal Stripe collects after the sweep expired the subscription is recorded, flagged unapplied and cancelled at Stripe by the webhook; the outbox then skips it', async () => {
    const u = await activeEnterprise();
    const failed = h.fake.renew(u.stripeSubId, false);
    await h.deliver(h.fake.event('invoice.payment_failed', failed.invoice, nowSec() + 1));
    const end = (await h.sub(u.subId)).end_date!.getTime();
    await worker.get(BillingSweeps).expireDue(new Date(end + 4 * 86_400_000));
    expect((await h.sub(u.subId)).status).toBe('expired');

    // Before the outbox job runs, a dunning retry succeeds at Stripe.
    const recovered = h.fake.payInvoice(String(failed.invoice.id));
    expect((await h.deliver(h.fake.event('invoice.paid', recovered.invoice, nowSec() + 2))).status).toBe(200);
    expect((await h.sub(u.subId)).status).toBe('expired');
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE stripe_invoice_id = $1 AND status = 'completed'`, [failed.invoice.id])).toBe(1);
    expect((await unapplied(u.subId)).at(-1)).toMatchObject({ code: 'invalid_state', invoice_id: failed.invoice.id, stripe_cancelled: true });
    expect(stripeStatus(u.stripeSubId)).toBe('canceled');

    expect((await worker.get(StripeCancelOutboxWorker).tick())?.failed).toBe(0);
    expect(h.fake.requestsTo('DELETE', `/v1/subscriptions/${u.stripeSubId}`)).toHaveLength(1);
    expect(await h.count(`SELECT count(*) AS n FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1 AND done_at IS NOT NULL`, [u.stripeSubId])).toBe(1);
  });

  it('the outbox job retries a Stripe failure later, with backoff', async () => {
    const u = await activeEnterprise();
    const end = (await h.sub(u.subId)).end_date!.getTime();
    await h.t.request('PATCH', `/api/subscriptions/${u.subId}`, { token: u.user.access_token, body: { cancel_at_period_end: true } });
    await worker.get(BillingSweeps).expireDue(new Date(end + 60_000));
    expect(await h.sub(u.subId)).toMatchObject({ status: 'expired', end_reason: 'cancelled_at_period_end' });

    h.fake.failRequests((method, path) => method === 'DELETE' && path === `/v1/subscriptions/${u.stripeSubId}`, 503);
    const now = Date.now();
    expect((await worker.get(StripeCancelOutboxWorker).tick(new Date(now)))?.failed).toBeGreaterThanOrEqual(1);
    const [row] = (await h.t.db.dataSource.query(`SELECT attempts, next_attempt_at, last_error, done_at FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1`, [u.stripeSubId])) as Array<{ attempts: number; next_attempt_at: Date; last_error: string; done_at: Date | null }>;
    expect(row).toMatchObject({ attempts: 1, last_error: 'payment_provider_error', done_at: null });
    expect(row.next_attempt_at.getTime()).toBe(now + 30_000);
    expect(stripeStatus(u.stripeSubId)).toBe('active');

    // Not due before the backoff ends; then retried and done.
    h.fake.clearFaults();
    await worker.get(StripeCancelOutboxWorker).tick(new Date(now + 10_000));
    expect(stripeStatus(u.stripeSubId)).toBe('active');
    await worker.get(StripeCancelOutboxWorker).tick(new Date(now + 30_000));
    expect(stripeStatus(u.stripeSubId)).toBe('canceled');
    expect(await h.count(`SELECT count(*) AS n FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1 AND done_at IS NOT NULL AND attempts = 2`, [u.stripeSubId])).toBe(1);
  });

  it('a new Checkout while the previous (no longer handed out) session was already paid, its webhook not here yet: 409 payment_in_progress, no second payable session', async () => {
    const user = await h.t.register();
    const first = await h.checkout(user.access_token, 'enterprise');
    expect(first.status).toBe(201);
    // Less than 10 min left: not handed out again, so createCheckout closes it first.
    await h.t.db.dataSource.query(`UPDATE payments SET expires_at = now() + interval '5 minutes' WHERE id = $1`, [first.body.payment_id]);
    // The customer pays it in another tab; the webhook is not here yet.
    const paid = h.fake.completeCheckout(first.body.session_id);
    const sessionsBefore = h.fake.requestsTo('POST', '/v1/checkout/sessions').length;

    const second = await h.checkout(user.access_token, 'enterprise');
    expect({ status: second.status, code: (second.body as unknown as { code: string }).code }).toEqual({ status: 409, code: 'payment_in_progress' });
    expect(h.fake.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(sessionsBefore);
    // Its webhook then activates the subscription, once.
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);
    expect((await h.sub(first.body.subscription_id)).status).toBe('active');
  });

  // ---- an erasure while a subscription is being made ----------------------------------------------

  it('a Checkout under way when the account is erased (after its Stripe customer round trip): 401, no subscription, payment or Checkout Session', async () => {
    const admin = await h.t.admin();
    const user = await h.t.register();
    const sessionsBefore = h.fake.requestsTo('POST', '/v1/checkout/sessions').length;
    const paused = pauseOnce(h.t.app.get(StripeCheckoutService), 'ensureCustomer');
    try {
      const checkout = h.checkout(user.access_token, 'enterprise');
      await paused.reached;
      expect((await h.t.request('DELETE', `/api/admin/users/${user.id}`, { token: admin.access_token })).status).toBe(204);
      paused.release();
      const res = await checkout;
      // Before: 201, a pending subscription and a payable Checkout Session for the erased account.
      expect({ status: res.status, code: (res.body as unknown as { code: string }).code }).toEqual({ status: 401, code: 'unauthorized' });
    } finally {
      paused.release();
      jest.restoreAllMocks();
    }
    expect(await h.count(`SELECT count(*) AS n FROM user_subscriptions WHERE user_id = $1`, [user.id])).toBe(0);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE user_id = $1`, [user.id])).toBe(0);
    expect(h.fake.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(sessionsBefore);
  });

  it('POST /subscriptions under way when the account is erased: 401, no (trial) subscription on the erased account', async () => {
    const admin = await h.t.admin();
    const user = await h.t.register();
    const paused = pauseOnce(h.t.app.get(SubscriptionsService), 'subscribe', 'before');
    try {
      const subscribing = h.t.request('POST', '/api/subscriptions', { token: user.access_token, body: { plan_id: h.plans.pro, billing_cycle: 'monthly', payment_method: 'stripe' } });
      await paused.reached;
      expect((await h.t.request('DELETE', `/api/admin/users/${user.id}`, { token: admin.access_token })).status).toBe(204);
      paused.release();
      const res = await subscribing;
      // Before: 201, a card trial on the erased account (its Checkout would then bill it).
      expect({ status: res.status, code: (res.body as { code?: string }).code }).toEqual({ status: 401, code: 'unauthorized' });
    } finally {
      paused.release();
      jest.restoreAllMocks();
    }
    expect(await h.count(`SELECT count(*) AS n FROM user_subscriptions WHERE user_id = $1`, [user.id])).toBe(0);
  });
  it('money Stripe collected just before an erasure is not applied to the erased account: refunded, and its Stripe subscription stays cancelled', async () => {
    const admin = await h.t.admin();
    const u = await activeEnterprise();
    const renewed = h.fake.renew(u.stripeSubId, true);
    expect((await h.t.request('DELETE', `/api/admin/users/${u.user.id}`, { token: admin.access_token })).status).toBe(204);
    expect(stripeStatus(u.stripeSubId)).toBe('canceled');
    expect((await h.deliver(h.fake.event('invoice.paid', renewed.invoice, nowSec() + 1))).status).toBe(200);
    expect(await h.sub(u.subId)).toMatchObject({ status: 'cancelled', end_reason: 'account_erased' });
    expect([...h.fake.refunds.values()].filter((r) => r.payment_intent === h.fake.paymentIntents.get(String(renewed.invoice.id)))).toHaveLength(1);
    expect((await unapplied(u.subId)).map((d) => d.invoice_id)).toEqual([renewed.invoice.id]);
  });
});
