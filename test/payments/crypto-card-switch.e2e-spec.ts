import { createStripeHarness, StripeHarness } from './stripe-support';

/** Item 5 of issue 13, the other direction: a card plan replacing a crypto one leaves no crypto payment request open. */
describe('Switching from crypto to card', () => {
  let h: StripeHarness;
  const DAY = 86_400_000;

  beforeAll(async () => {
    h = await createStripeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the card activation cancels the replaced crypto subscription and its open renewal request, and turns its auto_renew off', async () => {
    const user = await h.t.register();
    const end = new Date(Date.now() + 2 * DAY);
    const [crypto] = (await h.t.db.dataSource.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor, renewal_requested_for)
       SELECT $1, id, plan_type, 'active', 'monthly', 'crypto', true, $2::timestamptz - interval '1 month', $2, $2::timestamptz - interval '1 month', $2
         FROM subscription_plans WHERE code = 'pro' RETURNING id`,
      [user.id, end],
    )) as Array<{ id: string }>;
    const [renewal] = (await h.t.db.dataSource.query(
      `INSERT INTO payments (user_id, subscription_id, plan_id, kind, provider, status, amount_usd, billing_cycle, period_start, period_end, expires_at)
       SELECT $1, $2, id, 'renewal', NULL, 'pending', 29, 'monthly', $3, $3::timestamptz + interval '1 month', $3::timestamptz + interval '3 days'
         FROM subscription_plans WHERE code = 'pro' RETURNING id`,
      [user.id, crypto.id, end],
    )) as Array<{ id: string }>;

    const res = await h.checkout(user.access_token, 'enterprise');
    expect(res.status).toBe(201);
    const paid = h.fake.completeCheckout(res.body.session_id);
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session))).status).toBe(200);

    expect((await h.sub(res.body.subscription_id)).status).toBe('active');
    const old = (await h.t.db.dataSource.query('SELECT status, end_reason, auto_renew FROM user_subscriptions WHERE id = $1', [crypto.id])) as unknown[];
    expect(old).toEqual([{ status: 'cancelled', end_reason: 'replaced', auto_renew: false }]);
    const req = (await h.t.db.dataSource.query('SELECT status, failure_reason FROM payments WHERE id = $1', [renewal.id])) as unknown[];
    expect(req).toEqual([{ status: 'cancelled', failure_reason: 'subscription_replaced' }]);
  });
});
