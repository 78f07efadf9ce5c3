import { StripeCancelOutboxWorker, StripeCheckoutService, StripeGateway } from '@torgovo/payments';
import { nowSec, Wire } from '../fakes/stripe/stripe-wire';
import { WORKER_JOBS_BY_HAND } from '../support/app';
import { pauseOnce } from '../support/pause-once';
import { createStripeHarness, StripeHarness } from './stripe-support';

/**
 * An erased account's Stripe customer (its email and name at Stripe) is deleted at Stripe: queued in
 * the erasure's transaction, deleted after the commit by the Stripe outbox job, retried until Stripe
 * answers. Real stripe library → local fake Stripe, real PostgreSQL; the worker's jobs run in the api
 * process, by hand, so their logs are captured.
 */
describe('Stripe customer of an erased account', () => {
  let h: StripeHarness;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    h = await createStripeHarness(WORKER_JOBS_BY_HAND);
    admin = await h.t.admin();
  });
  afterEach(() => {
    h.fake.clearFaults();
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await h?.close();
  });

  const tick = (now?: Date) => h.t.app.get(StripeCancelOutboxWorker).tick(now);
  const erase = (userId: string) => h.t.request('DELETE', `/api/admin/users/${userId}`, { token: admin.access_token });
  const customerIdOf = async (userId: string): Promise<string | null> =>
    ((await h.t.db.dataSource.query(`SELECT stripe_customer_id FROM users WHERE id = $1`, [userId])) as Array<{ stripe_customer_id: string | null }>)[0].stripe_customer_id;
  const deletionsOf = async (userId: string) =>
    (await h.t.db.dataSource.query(
      `SELECT stripe_customer_id, reason, attempts, next_attempt_at, last_error, done_at IS NOT NULL AS done, outcome FROM stripe_customer_deletions WHERE user_id = $1`,
      [userId],
    )) as Array<{ stripe_customer_id: string; reason: string; attempts: number; next_attempt_at: Date; last_error: string | null; done: boolean; outcome: string | null }>;
  const deletesOf = (customerId: string) => h.fake.requestsTo('DELETE', `/v1/customers/${customerId}`);

  /** A user whose Stripe customer exists (as after a first checkout), with nothing else open at Stripe. */
  async function userWithCustomer(): Promise<{ id: string; email: string; access_token: string; customerId: string }> {
    const user = await h.t.register();
    const customerId = await h.t.app.get(StripeCheckoutService).ensureCustomer(user.id, {});
    expect(h.fake.customers.get(customerId)).toMatchObject({ email: user.email, name: 'Test User', metadata: { user_id: user.id } });
    return { ...user, customerId };
  }

  it('the erasure queues the customer in its transaction and clears it from the users row; the job deletes it at Stripe, once; nothing personal is logged', async () => {
    const user = await h.t.register();
    const checkout = await h.checkout(user.access_token, 'enterprise');
    expect(checkout.status).toBe(201);
    const customerId = (await customerIdOf(user.id))!;
    expect(h.fake.customers.get(customerId)).toMatchObject({ email: user.email, name: 'Test User' });
    const logsFrom = h.t.logs.lines.length;

    expect((await erase(user.id)).status).toBe(204);
    // The erasure only queued it: Stripe is called by the job, after the commit.
    expect(await customerIdOf(user.id)).toBeNull();
    expect(await deletionsOf(user.id)).toMatchObject([{ stripe_customer_id: customerId, reason: 'account_erased', attempts: 0, done: false }]);
    expect(deletesOf(customerId)).toHaveLength(0);

    expect((await tick())?.customers).toEqual({ deleted: 1, already_deleted: 0, failed: 0 });
    expect(h.fake.customers.get(customerId)).toEqual({ id: customerId, object: 'customer', deleted: true });
    expect(await deletionsOf(user.id)).toMatchObject([{ attempts: 1, done: true, outcome: 'deleted', last_error: null }]);
    const audit = (await h.t.db.dataSource.query(`SELECT actor_id, data FROM audit_logs WHERE event_type = 'payment.stripe_customer_deleted' AND user_id = $1`, [user.id])) as Array<{
      actor_id: string | null;
      data: Record<string, unknown>;
    }>;
    expect(audit).toEqual([{ actor_id: null, data: expect.objectContaining({ stripe_customer_id: customerId, reason: 'account_erased', outcome: 'deleted', actor: 'system' }) }]);

    // Done rows are not worked again.
    expect((await tick())?.customers).toEqual({ deleted: 0, already_deleted: 0, failed: 0 });
    expect(deletesOf(customerId)).toHaveLength(1);
    const logs = h.t.logs.lines.slice(logsFrom).join('\n');
    expect(logs).not.toContain(user.email);
    expect(logs).not.toContain('Test User');
  });

  it('Stripe down: the erasure still answers 204; the job fails, backs off, and deletes the customer once Stripe answers', async () => {
    const user = await userWithCustomer();
    // Every Stripe call fails from here: the erasure makes none.
    h.fake.failRequests(() => true, 503);
    expect((await erase(user.id)).status).toBe(204);
    expect(await customerIdOf(user.id)).toBeNull();

    const now = Date.now();
    expect((await tick(new Date(now)))?.customers).toEqual({ deleted: 0, already_deleted: 0, failed: 1 });
    const [row] = await deletionsOf(user.id);
    expect(row).toMatchObject({ attempts: 1, last_error: 'payment_provider_error', done: false });
    expect(row.next_attempt_at.getTime()).toBe(now + 30_000);
    expect(h.fake.customers.get(user.customerId)?.deleted).toBeUndefined();

    // Not due before the backoff ends (no call made); then retried and done.
    h.fake.clearFaults();
    expect((await tick(new Date(now + 10_000)))?.customers).toEqual({ deleted: 0, already_deleted: 0, failed: 0 });
    expect(deletesOf(user.customerId)).toHaveLength(1);
    expect((await tick(new Date(now + 30_000)))?.customers).toEqual({ deleted: 1, already_deleted: 0, failed: 0 });
    expect(h.fake.customers.get(user.customerId)).toEqual({ id: user.customerId, object: 'customer', deleted: true });
    expect(await deletionsOf(user.id)).toMatchObject([{ attempts: 2, done: true, outcome: 'deleted', last_error: null }]);
  });

  it('a customer already deleted at Stripe (from the dashboard) is done, without an error and without trying again', async () => {
    const user = await userWithCustomer();
    expect(h.fake.deleteCustomer(user.customerId)).toMatchObject({ deleted: true });
    expect((await erase(user.id)).status).toBe(204);

    expect((await tick())?.customers).toEqual({ deleted: 0, already_deleted: 1, failed: 0 });
    expect(await deletionsOf(user.id)).toMatchObject([{ attempts: 1, done: true, outcome: 'already_deleted', last_error: null }]);
    expect((await tick(new Date(Date.now() + 7_200_000)))?.customers).toEqual({ deleted: 0, already_deleted: 0, failed: 0 });
    expect(deletesOf(user.customerId)).toHaveLength(1);
  });

  it('erasing an account that has no Stripe customer queues nothing and calls nothing', async () => {
    const user = await h.t.register();
    const requestsBefore = h.fake.requests.length;
    expect((await erase(user.id)).status).toBe(204);
    expect(await deletionsOf(user.id)).toEqual([]);
    expect((await tick())?.customers).toEqual({ deleted: 0, already_deleted: 0, failed: 0 });
    expect(h.fake.requests.slice(requestsBefore)).toEqual([]);
  });

  // ---- interleavings --------------------------------------------------------------------------

  it('a Checkout whose Stripe customer is being created when the erasure commits (account checked, then erased, then the customer recorded): that customer is queued and deleted; 401', async () => {
    const user = await h.t.register();
    const customersBefore = h.fake.requestsTo('POST', '/v1/customers').length;
    // The checkout has checked the account and is about to create the customer at Stripe.
    const paused = pauseOnce(h.t.app.get(StripeGateway), 'call', 'before');
    try {
      const checkout = h.checkout(user.access_token, 'enterprise');
      await paused.reached;
      // Erased meanwhile: it has no customer yet, so the erasure queues none.
      expect((await erase(user.id)).status).toBe(204);
      paused.release();
      const res = await checkout;
      expect({ status: res.status, code: (res.body as unknown as { code: string }).code }).toEqual({ status: 401, code: 'unauthorized' });
    } finally {
      paused.release();
    }
    const created = h.fake.requestsTo('POST', '/v1/customers').slice(customersBefore);
    expect(created).toHaveLength(1);
    const customerId = [...h.fake.customers.values()].find((c) => (c.metadata as Wire | undefined)?.user_id === user.id)!.id as string;
    // Before: the customer (the person's email and name) recorded on the erased row, and never deleted.
    expect(await customerIdOf(user.id)).toBeNull();
    expect(await deletionsOf(user.id)).toMatchObject([{ stripe_customer_id: customerId, reason: 'created_after_erasure', done: false }]);

    expect((await tick())?.customers).toMatchObject({ deleted: 1, failed: 0 });
    expect(h.fake.customers.get(customerId)).toEqual({ id: customerId, object: 'customer', deleted: true });
    expect(await h.count(`SELECT count(*) AS n FROM user_subscriptions WHERE user_id = $1`, [user.id])).toBe(0);
    expect(await h.count(`SELECT count(*) AS n FROM payments WHERE user_id = $1`, [user.id])).toBe(0);
  });

  it('a Checkout paid just before the erasure, its checkout.session.completed arriving after the customer was deleted: refunded once, nothing revived, no customer created again', async () => {
    const user = await h.t.register();
    const checkout = await h.checkout(user.access_token, 'enterprise');
    expect(checkout.status).toBe(201);
    const customerId = (await customerIdOf(user.id))!;
    // Paid at Stripe; the webhook is not here yet.
    const paid = h.fake.completeCheckout(checkout.body.session_id);
    const stripeSubId = String(paid.subscription.id);
    const customersCreated = h.fake.requestsTo('POST', '/v1/customers').length;

    expect((await erase(user.id)).status).toBe(204);
    expect((await tick())?.customers).toMatchObject({ deleted: 1, failed: 0 });
    expect(h.fake.customers.get(customerId)?.deleted).toBe(true);

    // Stripe delivers the late events: the session's completion, then the first invoice's payment.
    expect((await h.deliver(h.fake.event('checkout.session.completed', paid.session, nowSec() + 1))).status).toBe(200);
    expect((await h.deliver(h.fake.event('invoice.paid', paid.invoice, nowSec() + 2))).status).toBe(200);

    // Before (a customer unknown once cleared from the users row): both ignored, the money kept and never refunded.
    const intent = h.fake.paymentIntents.get(String(paid.invoice.id));
    expect([...h.fake.refunds.values()].filter((r) => r.payment_intent === intent)).toHaveLength(1);
    expect(await h.sub(checkout.body.subscription_id)).toMatchObject({ status: 'cancelled', end_reason: 'account_erased' });
    expect(h.fake.subscriptions.get(stripeSubId)?.status).toBe('canceled');
    expect(h.fake.requestsTo('POST', '/v1/customers')).toHaveLength(customersCreated);
    expect(await customerIdOf(user.id)).toBeNull();
    expect(await h.count(`SELECT count(*) AS n FROM user_subscriptions WHERE user_id = $1 AND status NOT IN ('cancelled', 'expired')`, [user.id])).toBe(0);
    expect(await h.count(`SELECT count(*) AS n FROM subscription_periods p JOIN user_subscriptions s ON s.id = p.subscription_id WHERE s.user_id = $1`, [user.id])).toBe(0);
  });
});
