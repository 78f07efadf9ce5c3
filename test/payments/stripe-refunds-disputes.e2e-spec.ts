import { Decimal } from '@torgovo/core';
import { nowSec, Wire } from '../fakes/stripe/stripe-wire';
import { createBot } from '../custom-bots/support';
import { createStripeHarness, StripeHarness } from './stripe-support';

interface User {
  id: string;
  access_token: string;
}

interface PaymentRow {
  id: string;
  status: string;
  refunded_amount: string | null;
  refunded_at: Date | null;
  refund_id: string | null;
  dispute_id: string | null;
  dispute_status: string | null;
  failure_reason: string | null;
}

/**
 * Refunds and chargebacks made outside Torgovo (the Stripe dashboard, the card network) reach the
 * payment row through the same path as our own automatic refunds: recorded once whatever the order
 * and the repeats of Stripe's events, the period a fully refunded payment paid for taken back, and
 * nothing else. Each case is an interleaving of Stripe's state and its (late, repeated, reordered)
 * events; the real stripe library against the local fake Stripe, on real PostgreSQL.
 */
describe('Card refunds and disputes made at Stripe', () => {
  let h: StripeHarness;

  beforeAll(async () => {
    h = await createStripeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const sql = <T>(text: string, params: unknown[] = []): Promise<T[]> => h.t.db.dataSource.query(text, params) as Promise<T[]>;
  const payment = async (invoiceId: unknown): Promise<PaymentRow> =>
    (
      await sql<PaymentRow>(
        `SELECT id, status, refunded_amount::text, refunded_at, refund_id, dispute_id, dispute_status, failure_reason FROM payments WHERE stripe_invoice_id = $1`,
        [invoiceId],
      )
    )[0];
  const outcomes = async (events: Wire[]): Promise<string[]> => {
    const rows = await sql<{ event_id: string; outcome: string }>(`SELECT event_id, outcome FROM processed_events WHERE event_id = ANY($1)`, [events.map((e) => e.id)]);
    return events.map((e) => rows.find((r) => r.event_id === e.id)?.outcome ?? 'missing');
  };
  const audits = (event: string, paymentId: string): Promise<Array<{ actor_id: string | null; user_agent: string | null; data: Record<string, unknown> }>> =>
    sql(`SELECT actor_id, user_agent, data FROM audit_logs WHERE event_type = $1 AND data->>'payment_id' = $2 ORDER BY created_at, id`, [event, paymentId]);
  const deliver = async (...events: Wire[]): Promise<void> => {
    for (const e of events) expect((await h.deliver(e)).status).toBe(200);
  };
  const refundsAtStripe = (invoiceId: unknown): Wire[] => [...h.fake.refunds.values()].filter((r) => r.payment_intent === h.fake.paymentIntents.get(String(invoiceId)));
  const revenue = async (): Promise<{ payments: number; revenue: string; refunds: number; refunded: string }> => {
    const admin = await h.t.admin();
    const rev = await h.t.request<{ by_month_and_plan: Array<{ plan: string; payments: number; revenue_usd: string; refunds: number; refunds_usd: string }> }>('GET', '/api/admin/revenue', { token: admin.access_token });
    const rows = rev.body.by_month_and_plan.filter((r) => r.plan === 'enterprise');
    return {
      payments: rows.reduce((n, r) => n + r.payments, 0),
      revenue: rows.reduce((n, r) => n.plus(r.revenue_usd), new Decimal(0)).toFixed(),
      refunds: rows.reduce((n, r) => n + r.refunds, 0),
      refunded: rows.reduce((n, r) => n.plus(r.refunds_usd), new Decimal(0)).toFixed(),
    };
  };
  const revenueDelta = (a: Awaited<ReturnType<typeof revenue>>, b: Awaited<ReturnType<typeof revenue>>) => ({
    payments: b.payments - a.payments,
    revenue: new Decimal(b.revenue).minus(a.revenue).toFixed(),
    refunds: b.refunds - a.refunds,
    refunded: new Decimal(b.refunded).minus(a.refunded).toFixed(),
  });

  /** A user with a paid, active Enterprise (monthly, $99) billed by Stripe. */
  async function activeEnterprise(cycle: 'monthly' | 'yearly' = 'monthly'): Promise<{ user: User; subId: string; stripeSubId: string; invoice: Wire; session: Wire }> {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise', cycle);
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    await deliver(h.fake.event('invoice.paid', paid.invoice));
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    return { user, subId: res.body.subscription_id, stripeSubId: String(paid.subscription.id), invoice: paid.invoice, session: paid.session };
  }

  it('refunds made in the Stripe dashboard, part then the rest: the payment records Stripe’s running total once, whatever the order and repeats of the events; the refund that completes it ends the period it paid for', async () => {
    const a = await activeEnterprise();
    const bot = await createBot(h.t, a.user);
    expect((await h.t.request('POST', `/api/bots/${bot.body.id as string}/start`, { token: a.user.access_token })).body).toMatchObject({ status: 'running' });
    const before = await revenue();

    // $10 back from the dashboard: recorded, access unchanged.
    const part = h.fake.refundCharge(String(a.invoice.id), 1000);
    const partRefunded = h.fake.event('charge.refunded', part.charge);
    const partCreated = h.fake.event('refund.created', part.refund);
    await deliver(partRefunded, partRefunded, partCreated); // the second is Stripe's redelivery
    expect(await payment(a.invoice.id)).toMatchObject({ status: 'completed', refunded_amount: '10.00', refunded_at: expect.any(Date), refund_id: part.refund.id });
    expect(await h.sub(a.subId)).toMatchObject({ status: 'active', end_reason: null });

    // The rest ($89): its refund.created arrives before its charge.refunded, and the first refund's
    // charge.refunded (a snapshot saying $10) arrives again, late, under a new event id.
    const rest = h.fake.refundCharge(String(a.invoice.id));
    const restCreated = h.fake.event('refund.created', rest.refund);
    const restRefunded = h.fake.event('charge.refunded', rest.charge);
    const latePart = h.fake.event('charge.refunded', part.charge, nowSec() - 60);
    await deliver(restCreated, restRefunded, latePart);

    const p = await payment(a.invoice.id);
    expect(p).toMatchObject({ status: 'completed', refunded_amount: '99.00', refund_id: part.refund.id });
    expect(await outcomes([partRefunded, partCreated, restCreated, restRefunded, latePart])).toEqual(['refunded_partial', 'already_recorded', 'refunded_ended', 'already_recorded', 'already_recorded']);
    // Refunded in full: what it bought (the current period) ends now, as any end does: bots stopped, Stripe's billing cancelled by the outbox.
    expect(await h.sub(a.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_refunded' });
    expect((await h.t.request('GET', `/api/bots/${bot.body.id as string}`, { token: a.user.access_token })).body).toMatchObject({ status: 'stopped', stop_reason: 'subscription_payment_refunded' });
    expect(await h.count(`SELECT count(*) AS n FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1 AND reason = 'payment_refunded'`, [a.stripeSubId])).toBe(1);
    // One audit row per refund, by the provider, with Stripe's user agent.
    expect(await audits('payment.refunded', p.id)).toEqual([
      expect.objectContaining({ actor_id: null, user_agent: expect.stringContaining('Stripe'), data: expect.objectContaining({ cause: 'provider_refund', amount: '10.00', refunded_amount: '10.00', full: false, access: null }) }),
      expect.objectContaining({ data: expect.objectContaining({ cause: 'provider_refund', amount: '89.00', refunded_amount: '99.00', full: true, access: 'ended', refund_id: rest.refund.id }) }),
    ]);
    // The history and the admin's list show it; the revenue counts one refund of $99 and no new payment.
    const hist = await h.t.request<{ items: Array<Record<string, unknown>> }>('GET', '/api/payments/history', { token: a.user.access_token });
    expect(hist.body.items.find((x) => x.payment_id === p.id)).toMatchObject({ status: 'completed', amount_usd: '99.00', refunded_amount: '99.00', refunded_at: expect.any(String), dispute_status: null });
    const admin = await h.t.admin();
    const list = await h.t.request<{ items: Array<Record<string, unknown>> }>('GET', `/api/admin/payments?user_id=${a.user.id}`, { token: admin.access_token });
    expect(list.body.items).toEqual([expect.objectContaining({ payment_id: p.id, refunded_amount: '99.00' })]);
    expect(revenueDelta(before, await revenue())).toEqual({ payments: 0, revenue: '0', refunds: 1, refunded: '99' });
    expect(refundsAtStripe(a.invoice.id)).toHaveLength(2); // none of ours
  });

  it('our own refund (money that could not be applied), then Stripe’s echo of it (charge.refunded, refund.created): one refund', async () => {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const paid = h.fake.completeCheckout(res.body.session_id); // paid at Stripe …
    expect((await h.t.request('DELETE', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token })).status).toBe(200); // … cancelled before the webhook
    const before = await revenue();
    await deliver(h.fake.event('invoice.paid', paid.invoice)); // refunded by us (refuse)
    const ours = refundsAtStripe(paid.invoice.id);
    expect(ours).toEqual([expect.objectContaining({ amount: 9900 })]);
    expect(await payment(paid.invoice.id)).toMatchObject({ refunded_amount: '99.00', refund_id: ours[0].id, failure_reason: 'unapplied: invalid_state' });

    // Stripe then tells us about the refund we made, twice over, and once more after a while.
    const charge = h.fake.chargeOfInvoice(String(paid.invoice.id));
    const echoes = [h.fake.event('charge.refunded', charge), h.fake.event('refund.created', ours[0]), h.fake.event('refund.updated', ours[0], nowSec() + 5)];
    await deliver(...echoes);

    expect(await outcomes(echoes)).toEqual(['already_recorded', 'already_recorded', 'already_recorded']);
    const p = await payment(paid.invoice.id);
    expect(p).toMatchObject({ status: 'completed', refunded_amount: '99.00', refund_id: ours[0].id });
    expect(await audits('payment.refunded', p.id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ cause: 'unapplied', amount: '99.00', full: true, access: 'not_applied' }) })]);
    expect(refundsAtStripe(paid.invoice.id)).toHaveLength(1);
    expect(revenueDelta(before, await revenue())).toEqual({ payments: 1, revenue: '99', refunds: 1, refunded: '99' });
    expect((await h.sub(res.body.subscription_id)).status).toBe('cancelled');
  });

  it('money refunded at Stripe (all, or part) before the invoice.paid that our side must refuse: we refund only what is left, never fail on it, and the records agree with Stripe', async () => {
    const paidThenCancelled = async (): Promise<{ subId: string; invoice: Wire; session: Wire }> => {
      const user = await h.t.register();
      const res = await h.checkout(user.access_token, 'enterprise');
      const paid = h.fake.completeCheckout(res.body.session_id); // A: paid at Stripe …
      expect((await h.t.request('DELETE', `/api/subscriptions/${res.body.subscription_id}`, { token: user.access_token })).status).toBe(200);
      return { subId: res.body.subscription_id, invoice: paid.invoice, session: paid.session };
    };

    // B: the dashboard refunds all of it; then A's effect: the invoice.paid our side cannot apply (Stripe refuses a second refund).
    const all = await paidThenCancelled();
    const allRefund = h.fake.refundCharge(String(all.invoice.id));
    const allPaid = h.fake.event('invoice.paid', all.invoice);
    await deliver(allPaid, h.fake.event('charge.refunded', allRefund.charge));
    expect(await payment(all.invoice.id)).toMatchObject({ status: 'completed', refunded_amount: '99.00', refund_id: null, failure_reason: 'unapplied: invalid_state' });
    expect(refundsAtStripe(all.invoice.id)).toHaveLength(1);
    expect(await outcomes([allPaid])).toEqual(['unapplied_invalid_state']);

    // B: the dashboard refunds $30 of it; A's effect: we refund the $69 left, and Stripe's events then agree.
    const part = await paidThenCancelled();
    const partRefund = h.fake.refundCharge(String(part.invoice.id), 3000);
    await deliver(h.fake.event('invoice.paid', part.invoice));
    const ours = refundsAtStripe(part.invoice.id).filter((r) => r.id !== partRefund.refund.id);
    expect(ours).toEqual([expect.objectContaining({ amount: 6900 })]);
    expect(await payment(part.invoice.id)).toMatchObject({ refunded_amount: '69.00', refund_id: ours[0].id });
    await deliver(h.fake.event('charge.refunded', partRefund.charge), h.fake.event('refund.created', partRefund.refund), h.fake.event('charge.refunded', h.fake.chargeOfInvoice(String(part.invoice.id))));
    const p = await payment(part.invoice.id);
    expect(p).toMatchObject({ refunded_amount: '99.00', refund_id: ours[0].id });
    expect((await audits('payment.refunded', p.id)).map((a) => [a.data.cause, a.data.amount, a.data.refunded_amount])).toEqual([
      ['unapplied', '69.00', '69.00'],
      ['provider_refund', '30.00', '99.00'],
    ]);
  });

  it('a refund made at Stripe whose charge.refunded arrives before the invoice.paid it refunds: the same end state as in order, and the late invoice.paid grants nothing', async () => {
    // In order, for comparison: invoice.paid, then the refund.
    const inOrder = await activeEnterprise();
    await deliver(h.fake.event('charge.refunded', h.fake.refundCharge(String(inOrder.invoice.id)).charge));

    // Out of order: the customer pays, the refund is made at once, and its event comes first.
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise');
    const paid = h.fake.completeCheckout(res.body.session_id);
    const refunded = h.fake.refundCharge(String(paid.invoice.id));
    const early = h.fake.event('charge.refunded', refunded.charge);
    await deliver(early);
    // The invoice and checkout events, late, and redelivered: nothing is granted again.
    const late = [h.fake.event('invoice.paid', paid.invoice), h.fake.event('checkout.session.completed', paid.session), h.fake.event('invoice.payment_succeeded', paid.invoice)];
    await deliver(...late);

    const state = async (subId: string, invoiceId: unknown) => {
      const p = await payment(invoiceId);
      const s = await h.sub(subId);
      return { payment: { status: p.status, refunded_amount: p.refunded_amount, refunded: p.refunded_at !== null }, sub: { status: s.status, end_reason: s.end_reason }, periods: await h.count(`SELECT count(*) AS n FROM subscription_periods WHERE subscription_id = $1`, [subId]) };
    };
    expect(await state(res.body.subscription_id, paid.invoice.id)).toEqual(await state(inOrder.subId, inOrder.invoice.id));
    expect(await state(res.body.subscription_id, paid.invoice.id)).toEqual({
      payment: { status: 'completed', refunded_amount: '99.00', refunded: true },
      sub: { status: 'expired', end_reason: 'payment_refunded' },
      periods: 1,
    });
    // The checkout's own payment row took the invoice (no second row), and nothing was refunded by us.
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE subscription_id = $1`, [res.body.subscription_id])).toBe(1);
    expect(refundsAtStripe(paid.invoice.id)).toHaveLength(1);
    expect(await outcomes([early, ...late])).toEqual(['refunded_ended', 'already_applied', 'already_applied', 'already_applied']);
  });

  it('a renewal refunded before its period starts takes back that period only: access ends where the period before it ends', async () => {
    const a = await activeEnterprise();
    const firstEnd = (await h.sub(a.subId)).end_date as Date;
    const renewal = h.fake.renew(a.stripeSubId, true); // Stripe collects next month's renewal early
    await deliver(h.fake.event('invoice.paid', renewal.invoice, nowSec() + 1));
    expect((await h.sub(a.subId)).end_date!.getTime()).toBeGreaterThan(firstEnd.getTime());

    const refund = h.fake.refundCharge(String(renewal.invoice.id));
    const evt = h.fake.event('charge.refunded', refund.charge, nowSec() + 2);
    await deliver(evt);

    expect(await outcomes([evt])).toEqual(['refunded_shortened']);
    expect(await h.sub(a.subId)).toMatchObject({ status: 'active', end_date: firstEnd, end_reason: null });
    expect(await payment(a.invoice.id)).toMatchObject({ refunded_amount: null }); // the first period's payment is untouched
    expect(await payment(renewal.invoice.id)).toMatchObject({ refunded_amount: '99.00' });
  });

  it('a refund of the current period made at Stripe, then the next period is paid and applied, then the refund’s event: the period paid since keeps the subscription', async () => {
    const a = await activeEnterprise();
    const refund = h.fake.refundCharge(String(a.invoice.id)); // A: the current period's payment is refunded at Stripe …
    const renewal = h.fake.renew(a.stripeSubId, true); // B: … the next one is collected and applied first …
    await deliver(h.fake.event('invoice.paid', renewal.invoice, nowSec() + 1));
    const renewedEnd = (await h.sub(a.subId)).end_date;
    const evt = h.fake.event('charge.refunded', refund.charge); // … then A's event
    await deliver(evt);

    expect(await outcomes([evt])).toEqual(['refunded_superseded']);
    expect(await h.sub(a.subId)).toMatchObject({ status: 'active', end_date: renewedEnd, end_reason: null });
    expect(await payment(a.invoice.id)).toMatchObject({ refunded_amount: '99.00' });
  });

  it('a dispute opened leaves access as it is; lost after the subscription was replaced by another plan, it refunds that payment in full and leaves the new plan alone', async () => {
    const a = await activeEnterprise();
    const before = await revenue();
    const dispute = h.fake.openDispute(String(a.invoice.id)); // A: the charge is disputed …
    const opened = h.fake.event('charge.dispute.created', dispute);
    await deliver(opened);
    const p = await payment(a.invoice.id);
    expect(p).toMatchObject({ status: 'completed', dispute_id: dispute.id, dispute_status: 'needs_response', refunded_amount: null });
    expect(await h.sub(a.subId)).toMatchObject({ status: 'active' });
    expect(await audits('payment.disputed', p.id)).toEqual([expect.objectContaining({ actor_id: null, data: expect.objectContaining({ dispute_id: dispute.id, status: 'needs_response', reason: 'fraudulent', actor: 'provider' }) })]);

    // B: the user moves to the yearly plan (a new Checkout, paid): the monthly one is replaced.
    const up = await h.checkout(a.user.access_token, 'enterprise', 'yearly');
    expect(up.status).toBe(201);
    const yearly = h.fake.completeCheckout(up.body.session_id);
    await deliver(h.fake.event('invoice.paid', yearly.invoice));
    const yearlyBefore = await h.sub(up.body.subscription_id);
    expect(yearlyBefore.status).toBe('active');
    expect(await h.sub(a.subId)).toMatchObject({ status: 'cancelled', end_reason: 'replaced' });

    // A's effect: the dispute is lost.
    const lost = h.fake.event('charge.dispute.closed', h.fake.closeDispute(String(dispute.id), 'lost'));
    await deliver(lost, lost);
    expect(await outcomes([opened, lost])).toEqual(['dispute_opened', 'dispute_lost_refunded_not_current']);
    expect(await payment(a.invoice.id)).toMatchObject({ dispute_status: 'lost', refunded_amount: '99.00', refunded_at: expect.any(Date) });
    expect(await h.sub(a.subId)).toMatchObject({ status: 'cancelled', end_reason: 'replaced' });
    expect(await h.sub(up.body.subscription_id)).toEqual(yearlyBefore);
    expect(await audits('payment.dispute_closed', p.id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ status: 'lost' }) })]);
    expect(await audits('payment.refunded', p.id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ cause: 'dispute_lost', amount: '99.00', full: true, access: 'not_current' }) })]);
    expect(revenueDelta(before, await revenue())).toEqual({ payments: 1, revenue: '990', refunds: 1, refunded: '99' });
    expect(refundsAtStripe(a.invoice.id)).toEqual([]); // a chargeback is no refund of ours
  });

  it('a dispute won clears it and a late report of its opening does not reopen it; a dispute lost on the current period ends it as a full refund does', async () => {
    const won = await activeEnterprise();
    const d1 = h.fake.openDispute(String(won.invoice.id));
    const created = h.fake.event('charge.dispute.created', d1);
    await deliver(created);
    h.fake.disputes.get(String(d1.id))!.status = 'under_review'; // evidence submitted
    const reviewed = h.fake.event('charge.dispute.updated', { ...d1, status: 'under_review' });
    await deliver(reviewed);
    expect(await payment(won.invoice.id)).toMatchObject({ dispute_status: 'under_review' });
    const closed = h.fake.event('charge.dispute.closed', h.fake.closeDispute(String(d1.id), 'won'));
    const lateCreated = h.fake.event('charge.dispute.created', d1, nowSec() - 3600); // redelivered after the close
    await deliver(closed, lateCreated);
    expect(await outcomes([created, reviewed, closed, lateCreated])).toEqual(['dispute_opened', 'dispute_updated', 'dispute_closed', 'dispute_no_change']);
    expect(await payment(won.invoice.id)).toMatchObject({ dispute_status: 'won', refunded_amount: null, refunded_at: null });
    expect(await h.sub(won.subId)).toMatchObject({ status: 'active' });

    const lost = await activeEnterprise();
    const d2 = h.fake.openDispute(String(lost.invoice.id));
    await deliver(h.fake.event('charge.dispute.created', d2));
    expect(await h.sub(lost.subId)).toMatchObject({ status: 'active' });
    const closedLost = h.fake.event('charge.dispute.closed', h.fake.closeDispute(String(d2.id), 'lost'));
    await deliver(closedLost);
    expect(await outcomes([closedLost])).toEqual(['dispute_lost_refunded_ended']);
    expect(await h.sub(lost.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_refunded' });
    expect(await payment(lost.invoice.id)).toMatchObject({ dispute_status: 'lost', refunded_amount: '99.00' });
  });

  it('refunds and disputes of charges that are none of our payments are logged and acknowledged; nothing is written; a bad signature is 400', async () => {
    const paymentsBefore = await h.count(`SELECT count(*) AS n FROM payments`);
    const auditsBefore = await h.count(`SELECT count(*) AS n FROM audit_logs WHERE event_type <> 'payment.stripe_event'`);
    const foreign = h.fake.foreignCharge(5000);
    const refunded = h.fake.event('charge.refunded', { ...foreign, amount_refunded: 5000, refunded: true });
    const dispute = h.fake.openDispute(String(foreign.id));
    const disputed = h.fake.event('charge.dispute.created', dispute);
    const ghost = h.fake.event('charge.refunded', { ...foreign, id: 'ch_not_at_this_account' });
    await deliver(refunded, disputed, ghost);
    expect(await outcomes([refunded, disputed, ghost])).toEqual(['unknown_charge', 'unknown_charge', 'unknown_charge']);
    expect(await h.count(`SELECT count(*) AS n FROM payments`)).toBe(paymentsBefore);
    expect(await h.count(`SELECT count(*) AS n FROM audit_logs WHERE event_type <> 'payment.stripe_event'`)).toBe(auditsBefore);

    const forged = h.fake.event('charge.dispute.closed', { ...dispute, status: 'lost' });
    const bad = await h.deliver(forged, { secret: 'whsec_not_ours' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
    expect(await h.count(`SELECT count(*) AS n FROM processed_events WHERE event_id = $1`, [forged.id])).toBe(0);
  });
});
