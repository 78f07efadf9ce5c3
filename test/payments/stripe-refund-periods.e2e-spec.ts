import { nowSec, Wire } from '../fakes/stripe/stripe-wire';
import { createStripeHarness, StripeHarness } from './stripe-support';

// A refunded period is no paid time any more, whatever order the refunds and invoices arrive in; and the
// REST payment's refund and dispute fields are pushed when they change. (Each of these failed on 6a40d54.)
describe('Stripe refunds: refunded periods, early refunds of a retried renewal, live updates (e2e)', () => {
  let h: StripeHarness;
  beforeAll(async () => {
    h = await createStripeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  const sql = <T>(text: string, params: unknown[] = []): Promise<T[]> => h.t.db.dataSource.query(text, params) as Promise<T[]>;
  const outcomes = async (events: Wire[]): Promise<string[]> => {
    const rows = await sql<{ event_id: string; outcome: string }>(`SELECT event_id, outcome FROM processed_events WHERE event_id = ANY($1)`, [events.map((e) => e.id)]);
    return events.map((e) => rows.find((r) => r.event_id === e.id)?.outcome ?? 'missing');
  };
  const deliver = async (...events: Wire[]): Promise<void> => {
    for (const e of events) expect((await h.deliver(e)).status).toBe(200);
  };
  async function activeEnterprise() {
    const user = await h.t.register();
    const res = await h.checkout(user.access_token, 'enterprise', 'monthly');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    await deliver(h.fake.event('invoice.paid', paid.invoice));
    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    return { user, subId: res.body.subscription_id as string, stripeSubId: String(paid.subscription.id), invoice: paid.invoice };
  }

  it('renewal paid ahead refunded, then the current period refunded: every paid period refunded in full, no access left', async () => {
    const a = await activeEnterprise();
    const firstEnd = (await h.sub(a.subId)).end_date as Date;
    const renewal = h.fake.renew(a.stripeSubId, true);
    await deliver(h.fake.event('invoice.paid', renewal.invoice, nowSec() + 1));
    const e2 = h.fake.event('charge.refunded', h.fake.refundCharge(String(renewal.invoice.id)).charge, nowSec() + 2);
    await deliver(e2);
    expect(await outcomes([e2])).toEqual(['refunded_shortened']);
    expect(await h.sub(a.subId)).toMatchObject({ status: 'active', end_date: firstEnd });
    const e1 = h.fake.event('charge.refunded', h.fake.refundCharge(String(a.invoice.id)).charge, nowSec() + 3);
    await deliver(e1);
    const left = await sql<{ refunded: string }>(`SELECT string_agg(refunded_amount::text, ',' ORDER BY created_at) AS refunded FROM payments WHERE subscription_id = $1`, [a.subId]);
    expect(left[0].refunded).toBe('99.00,99.00'); // both payments refunded in full …
    expect(await outcomes([e1])).toEqual(['refunded_ended']); // … so no access is left (the refunded renewal is not 'later paid time')
    expect(await h.sub(a.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_refunded' });
  });

  it('current period refunded (superseded by the renewal paid ahead), then the renewal refunded: no access left', async () => {
    const a = await activeEnterprise();
    const renewal = h.fake.renew(a.stripeSubId, true);
    await deliver(h.fake.event('invoice.paid', renewal.invoice, nowSec() + 1));
    const e1 = h.fake.event('charge.refunded', h.fake.refundCharge(String(a.invoice.id)).charge, nowSec() + 2);
    await deliver(e1);
    expect(await outcomes([e1])).toEqual(['refunded_superseded']);
    const e2 = h.fake.event('charge.refunded', h.fake.refundCharge(String(renewal.invoice.id)).charge, nowSec() + 3);
    await deliver(e2);
    expect(await outcomes([e2])).toEqual(['refunded_ended']); // not shortened back to the refunded first period's end
    expect(await h.sub(a.subId)).toMatchObject({ status: 'expired', end_reason: 'payment_refunded' });
  });

  it('a renewal that failed, then was paid on retry and refunded at Stripe, whose charge.refunded arrives before its invoice.paid: the refunded renewal grants nothing', async () => {
    const a = await activeEnterprise();
    const firstEnd = (await h.sub(a.subId)).end_date as Date;
    const renewal = h.fake.renew(a.stripeSubId, false); // the renewal's first attempt fails …
    await deliver(h.fake.event('invoice.payment_failed', renewal.invoice, nowSec() + 1));
    const failedRow = await sql<{ status: string }>(`SELECT status FROM payments WHERE stripe_invoice_id = $1`, [renewal.invoice.id]);
    expect(failedRow).toEqual([{ status: 'failed' }]); // the payment row exists, unapplied
    const retried = h.fake.payInvoice(String(renewal.invoice.id)); // … the retry collects it …
    const refund = h.fake.refundCharge(String(renewal.invoice.id)); // … and it is refunded in full at Stripe
    const early = h.fake.event('charge.refunded', refund.charge, nowSec() + 2);
    await deliver(early); // the refund's event first …
    await deliver(h.fake.event('invoice.paid', retried.invoice, nowSec() + 3)); // … then the invoice.paid
    const row = await sql<{ status: string; refunded_amount: string | null }>(`SELECT status, refunded_amount::text FROM payments WHERE stripe_invoice_id = $1`, [renewal.invoice.id]);
    expect(row).toEqual([{ status: 'completed', refunded_amount: '99.00' }]);
    // The money is all back at the customer, so the period it paid for must not be granted:
    expect((await h.sub(a.subId)).end_date).toEqual(firstEnd); // not extended by the refunded month
  });

  it('live updates: the refund that completes a payment, and a dispute, publish payment.updated', async () => {
    const a = await activeEnterprise();
    const pid = (await sql<{ id: string }>(`SELECT id FROM payments WHERE stripe_invoice_id = $1`, [a.invoice.id]))[0].id;
    const events = async (): Promise<number> => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM user_events WHERE type = 'payment.updated' AND entity_id = $1`, [pid]))[0].n);
    const e0 = await events();
    await deliver(h.fake.event('charge.refunded', h.fake.refundCharge(String(a.invoice.id), 1000).charge)); // $10 back
    expect(await events()).toBe(e0 + 1);
    const d = h.fake.openDispute(String(a.invoice.id));
    await deliver(h.fake.event('charge.dispute.created', d)); // disputed: dispute_status in the REST payment changes
    const afterDispute = await events();
    await deliver(h.fake.event('charge.refunded', h.fake.refundCharge(String(a.invoice.id)).charge)); // the rest: refunded in full
    const row = (await sql<{ refunded_amount: string; dispute_status: string }>(`SELECT refunded_amount::text, dispute_status FROM payments WHERE id = $1`, [pid]))[0];
    expect(row).toEqual({ refunded_amount: '99.00', dispute_status: 'needs_response' });
    expect({ dispute: afterDispute - e0 - 1, rest: (await events()) - afterDispute }).toEqual({ dispute: 1, rest: 1 });
  });
});
