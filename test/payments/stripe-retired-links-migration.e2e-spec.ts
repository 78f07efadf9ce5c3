import { StripeSubscriptionsRetiredAt1766500000530 } from '../../migrations/1766500000530-StripeSubscriptionsRetiredAt';
import { nowSec } from '../fakes/stripe/stripe-wire';
import { createStripeHarness, StripeHarness } from './stripe-support';

/**
 * The migration retires the links of Checkout bank debits that failed before it (so the user's next
 * Checkout for that subscription is linked, not refunded as a second Stripe subscription) and no other.
 */
describe('stripe_subscriptions.retired_at migration (real PostgreSQL)', () => {
  let h: StripeHarness;
  const migration = new StripeSubscriptionsRetiredAt1766500000530();

  beforeAll(async () => {
    h = await createStripeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('retires the link of a failed debit, not the link of a paid subscription', async () => {
    const failedUser = await h.t.register();
    const res = await h.checkout(failedUser.access_token, 'enterprise');
    const started = h.fake.completeCheckout(res.body.session_id, { async: true });
    await h.deliver(h.fake.event('checkout.session.completed', started.session));
    const failed = h.fake.settleAsyncPayment(res.body.session_id, false);
    expect((await h.deliver(h.fake.event('checkout.session.async_payment_failed', failed.session, nowSec() + 1))).status).toBe(200);

    const paidUser = await h.t.register();
    const ok = await h.checkout(paidUser.access_token, 'enterprise');
    const paid = h.fake.completeCheckout(ok.body.session_id);
    await h.deliver(h.fake.event('checkout.session.completed', paid.session));

    // As before this change: the failed debit's link stayed the subscription's billing.
    await h.t.db.dataSource.query(`UPDATE stripe_subscriptions SET retired_at = NULL`);
    const qr = h.t.db.dataSource.createQueryRunner();
    try {
      await qr.startTransaction();
      await migration.down(qr);
      await migration.up(qr);
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    const retired = async (id: unknown): Promise<boolean> =>
      ((await h.t.db.dataSource.query(`SELECT retired_at IS NOT NULL AS r FROM stripe_subscriptions WHERE stripe_subscription_id = $1`, [id])) as Array<{ r: boolean }>)[0].r;
    expect(await retired(started.subscription.id)).toBe(true);
    expect(await retired(paid.subscription.id)).toBe(false);
  });
});
