import Decimal from 'decimal.js';
import { startSmtp } from '../fakes/smtp/local-smtp-server';
import { EmailDispatcher } from '@torgovo/notifications';
import { BillingScheduler, BillingSweeps, EntitlementsService } from '@torgovo/subscriptions';
import { CryptoPaymentsService } from '@torgovo/payments';
import { CryptoPaymentCompletion } from '../../libs/payments/src/crypto/crypto-payment-completion';
import { pauseOnce } from '../support/pause-once';
import { createCryptoHarness, CryptoHarness } from './crypto-support';

/**
 * Crypto renewals through the BillingScheduler, switching from a card plan to a crypto one, and
 * the e-mails those events send over SMTP.
 */
describe('Crypto payments: renewals, switching provider, e-mail', () => {
  let h: CryptoHarness;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const DAY = 86_400_000;

  beforeAll(async () => {
    smtp = await startSmtp();
    h = await createCryptoHarness({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_FROM: 'Torgovo Billing <billing@torgovo.test>' });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => smtp?.server.close(() => resolve()));
  });

  /** An active crypto subscription paid until `end`, as the activation service leaves one. */
  async function activeCryptoSub(userId: string, planCode: string, end: Date): Promise<string> {
    // One calendar month before end, on the anchor grid the activation service keeps.
    const [{ start }] = (await h.t.db.dataSource.query(`SELECT ($1::timestamptz - interval '1 month') AS start`, [end])) as Array<{ start: Date }>;
    const [row] = (await h.t.db.dataSource.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor)
       SELECT $1, id, plan_type, 'active', 'monthly', 'crypto', true, $3, $4, $3 FROM subscription_plans WHERE code = $2 RETURNING id`,
      [userId, planCode, start, end],
    )) as Array<{ id: string }>;
    await h.t.db.dataSource.query(`INSERT INTO subscription_periods (subscription_id, provider, payment_reference, period_start, period_end) VALUES ($1, 'okx', $2, $3, $4)`, [
      row.id,
      `seed-${row.id}`,
      start,
      end,
    ]);
    return row.id;
  }

  it('the BillingScheduler requests a renewal before end_date (with an e-mail); paying it in crypto extends the period', async () => {
    const u = await h.t.register();
    const end = new Date(Date.now() + 2 * DAY);
    const subId = await activeCryptoSub(u.id, 'enterprise', end);
    await h.t.app.get(BillingScheduler).tick();
    const renewal = await h.one<{ id: string; kind: string; provider: string | null; status: string; amount_usd: string }>(
      `SELECT id, kind, provider, status, amount_usd::text FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`,
      [subId],
    );
    expect(renewal).toMatchObject({ kind: 'renewal', provider: null, status: 'pending', amount_usd: '99.00' });
    expect(await h.one('SELECT kind, user_id FROM notification_outbox WHERE dedupe_key = $1', [`renewal_due:${renewal.id}`])).toEqual({ kind: 'renewal_due', user_id: u.id });

    // The user pays the renewal in crypto: the same payment row, no second subscription.
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(init.status).toBe(201);
    expect(init.body).toMatchObject({ payment_id: renewal.id, subscription_id: subId, kind: 'renewal', amount_usd: '99.00' });
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    await h.checker.tick();
    const sub = await h.one<{ status: string; end_date: Date }>('SELECT status, end_date FROM user_subscriptions WHERE id = $1', [subId]);
    expect(sub.status).toBe('active');
    expect(sub.end_date.getTime() - end.getTime()).toBeGreaterThan(27 * DAY);
    expect(await h.one(`SELECT count(*)::int AS n FROM user_subscriptions WHERE user_id = $1`, [u.id])).toEqual({ n: 1 });

    // The e-mails go out over SMTP.
    const sent = await h.t.app.get(EmailDispatcher).tick();
    expect(sent?.sent).toBeGreaterThanOrEqual(2);
    const mine = smtp.mails.filter((m) => m.to.includes(u.email));
    expect(mine.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]).sort()).toEqual([
      'Payment confirmed: Enterprise',
      expect.stringContaining('subscription ends'),
    ]);
    expect(mine[0].from).toBe('billing@torgovo.test');
    expect(await h.one(`SELECT count(*)::int AS n FROM notification_outbox WHERE user_id = $1 AND status = 'sent'`, [u.id])).toEqual({ n: 2 });
  });

  it('the plan is withdrawn from sale after the renewal request: its subscriber still pays the renewal in crypto; a new subscription to it is refused', async () => {
    const u = await h.t.register();
    const end = new Date(Date.now() + 2 * DAY);
    const subId = await activeCryptoSub(u.id, 'enterprise', end);
    await h.t.app.get(BillingScheduler).tick();
    await h.t.db.dataSource.query(`UPDATE subscription_plans SET is_active = false WHERE id = $1`, [h.plans.enterprise]);
    try {
      // Before: 400 plan_inactive, so the subscription asked for a payment it would not take, went past_due and expired.
      const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
      expect(init.status).toBe(201);
      expect(init.body).toMatchObject({ subscription_id: subId, kind: 'renewal' });
      h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
      await h.checker.tick();
      const sub = await h.one<{ status: string; end_date: Date }>('SELECT status, end_date FROM user_subscriptions WHERE id = $1', [subId]);
      expect(sub.status).toBe('active');
      expect(sub.end_date.getTime() - end.getTime()).toBeGreaterThan(27 * DAY);

      const newcomer = await h.t.register();
      const refused = await h.initialize(newcomer.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'plan_inactive' });
      expect(await h.one(`SELECT count(*)::int AS n FROM user_subscriptions WHERE user_id = $1 AND plan_id = $2`, [newcomer.id, h.plans.enterprise])).toEqual({ n: 0 });
    } finally {
      await h.t.db.dataSource.query(`UPDATE subscription_plans SET is_active = true WHERE id = $1`, [h.plans.enterprise]);
    }
  });

  it('a renewal checked out at CoinGate twice (a reload, a second tab): the same CoinGate order both times; paying it renews; after it expires a new one is made', async () => {
    const u = await h.t.register();
    const end = new Date(Date.now() + 2 * DAY);
    const subId = await activeCryptoSub(u.id, 'enterprise', end);
    await h.t.app.get(BillingScheduler).tick();
    const checkout = () =>
      h.t.request<{ payment_id: string; payment_url: string; subscription_id: string }>('POST', '/api/payments/crypto/coingate', { token: u.access_token, body: { plan_id: h.plans.enterprise } });
    const first = await checkout();
    const second = await checkout();
    expect([first.status, second.status]).toEqual([201, 201]);
    // Before: a second CoinGate order replaced the row's callback token, and paying the first was refused (400) forever.
    expect(second.body).toEqual(first.body);
    // Kept from the sweeps while CoinGate may still take it (the quote's 2 h) and credit it (24 h more).
    const { payment_hold_until: hold } = await h.one<{ payment_hold_until: Date }>('SELECT payment_hold_until FROM user_subscriptions WHERE id = $1', [subId]);
    expect(hold.getTime()).toBeGreaterThan(Date.now() + 25 * 60 * 60_000);
    const order = h.coingate.byOrderId(first.body.payment_id)!;
    h.coingate.setStatus(order.id, 'paid', { amount: '99', currency: 'USDT' });
    const paid = await h.t.request<{ outcome?: string }>('POST', '/api/payments/crypto/callback', { raw: h.coingate.callbackForm(order), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(paid.body).toEqual({ outcome: 'completed' });
    const sub = await h.one<{ status: string; end_date: Date }>('SELECT status, end_date FROM user_subscriptions WHERE id = $1', [subId]);
    expect(sub.end_date.getTime() - end.getTime()).toBeGreaterThan(27 * DAY);

    // The next renewal: an order that expired at CoinGate is not reused.
    const u2 = await h.t.register();
    const sub2 = await activeCryptoSub(u2.id, 'enterprise', new Date(Date.now() + 2 * DAY));
    await h.t.app.get(BillingScheduler).tick();
    const go = () => h.t.request<{ payment_id: string; payment_url: string }>('POST', '/api/payments/crypto/coingate', { token: u2.access_token, body: { plan_id: h.plans.enterprise } });
    const a = await go();
    h.coingate.setStatus(h.coingate.byOrderId(a.body.payment_id)!.id, 'expired');
    const b = await go();
    expect(b.status).toBe(201);
    expect(b.body.payment_url).not.toBe(a.body.payment_url);
    expect(await h.one(`SELECT subscription_id FROM payments WHERE id = $1`, [b.body.payment_id])).toEqual({ subscription_id: sub2 });
  });

  /** A crypto subscription whose grace ends `left` ms from now, past due with its renewal requested (as the scheduler leaves it). */
  async function pastDueNearGraceEnd(userId: string, left: number): Promise<string> {
    const subId = await activeCryptoSub(userId, 'managed_basic', new Date(Date.now() - 3 * DAY + left));
    await h.t.app.get(BillingScheduler).tick();
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'past_due' });
    return subId;
  }

  it('a renewal quoted 30 min before the grace ends → the sweep runs after the grace → the deposit sent in time is credited: renewed, not expired; an unpaid quote holds it for the crediting allowance only', async () => {
    const [payer, idle] = [await h.t.register(), await h.t.register()];
    const [paying, waiting] = [await pastDueNearGraceEnd(payer.id, 30 * 60_000), await pastDueNearGraceEnd(idle.id, 30 * 60_000)];
    const now = Date.now();
    const quoted = await h.initialize(payer.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
    expect([quoted.status, quoted.body.kind]).toEqual([201, 'renewal']);
    expect((await h.initialize(idle.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' })).status).toBe(201);
    const sweeps = h.t.app.get(BillingSweeps);

    // An hour later the grace is over; both quotes are still open (2 h).
    await sweeps.expireDue(new Date(now + 60 * 60_000));
    // Before: expired here, and the deposit below completed the payment, failed the activation (invalid_state) and kept the money.
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [paying])).toEqual({ status: 'past_due' });
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: quoted.body.crypto_amount });
    await h.checker.runOnce(new Date(now + 3 * 60 * 60_000));
    const renewed = await h.one<{ status: string; end_date: Date; payment_hold_until: Date | null }>('SELECT status, end_date, payment_hold_until FROM user_subscriptions WHERE id = $1', [paying]);
    expect(renewed).toMatchObject({ status: 'active', payment_hold_until: null });
    expect(renewed.end_date.getTime()).toBeGreaterThan(now + 20 * DAY);
    expect(await h.one(`SELECT status FROM payments WHERE id = $1`, [quoted.body.payment_id])).toEqual({ status: 'completed' });

    // Never paid: kept from expiry until the quote's end plus CRYPTO_PAYMENT_HOLD_HOURS (24), with no access meanwhile, then expired.
    await sweeps.expireDue(new Date(now + 25 * 60 * 60_000));
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [waiting])).toEqual({ status: 'past_due' });
    const entitlements = h.t.app.get(EntitlementsService);
    expect(await entitlements.find(idle.id, 'managed_bot', new Date(now + 25 * 60 * 60_000))).toBeNull();
    await sweeps.expireDue(new Date(now + 26 * 60 * 60_000 + 60_000));
    expect(await h.one('SELECT status, end_reason FROM user_subscriptions WHERE id = $1', [waiting])).toEqual({ status: 'expired', end_reason: 'payment_overdue' });
  });

  it('a deposit sent in time but credited after the hold lapsed (the subscription expired): completed, marked not applied, and the user told so — not "confirmed"', async () => {
    const u = await h.t.register();
    const subId = await pastDueNearGraceEnd(u.id, 30 * 60_000);
    const now = Date.now();
    const quoted = await h.initialize(u.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
    expect(quoted.status).toBe(201);
    // The quote's 2 h and the 24 h hold pass without the deposit being credited: the sweep expires the subscription.
    await h.t.app.get(BillingSweeps).expireDue(new Date(now + 27 * 60 * 60_000));
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'expired' });
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: quoted.body.crypto_amount });
    await h.checker.runOnce(new Date(now + 28 * 60 * 60_000));
    // The money is recorded (never lost); the payment says it was not applied, and so does the e-mail.
    const status = await h.t.request<{ status: string; failure_reason: string | null }>('GET', `/api/payments/crypto/status/${quoted.body.payment_id}`, { token: u.access_token });
    expect(status.body).toMatchObject({ status: 'completed', failure_reason: 'not_applied: invalid_state' });
    const told = (await h.t.db.dataSource.query(`SELECT kind FROM notification_outbox WHERE user_id = $1 AND kind LIKE 'payment_%' AND channel = 'email'`, [u.id])) as Array<{ kind: string }>;
    // Before: payment_confirmed ("Your subscription is active") for money that activated nothing.
    expect(told.map((r) => r.kind)).toEqual(['payment_unapplied']);
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'expired' });
  });

  it('a renewal quoted again while its quote is open: the same quote back (same coin), 409 for another coin — a deposit for the first amount still matches', async () => {
    const u = await h.t.register();
    const subId = await pastDueNearGraceEnd(u.id, 2 * DAY);
    const first = await h.initialize(u.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
    const again = await h.initialize(u.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
    expect([first.status, again.status]).toEqual([201, 201]);
    // Before: a new amount and expiry written over the row: a deposit of the first amount then matched nothing.
    expect(again.body).toMatchObject({ payment_id: first.body.payment_id, crypto_amount: first.body.crypto_amount, deposit_address: first.body.deposit_address });
    const other = await h.initialize(u.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDC' });
    expect([other.status, (other.body as unknown as { code: string }).code]).toEqual([409, 'payment_in_progress']);
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: first.body.crypto_amount });
    await h.checker.tick();
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'active' });
  });

  it('quoting again and again does not keep a subscription from expiring for ever: the hold stops at its deadline plus one quote and the crediting allowance', async () => {
    const u = await h.t.register();
    const subId = await pastDueNearGraceEnd(u.id, 30 * 60_000);
    const now = Date.now();
    const crypto = h.t.app.get(CryptoPaymentsService);
    const quote = (at: number) => crypto.initialize(u.id, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' }, { actorId: u.id }, new Date(at));
    await quote(now);
    // A new quote a day later (the first expired unpaid): before, it held the subscription a day more, and so on.
    await quote(now + 25 * 60 * 60_000);
    const sweeps = h.t.app.get(BillingSweeps);
    // The grace ended at +30 min: held until +30 min + 2 h + 24 h at most.
    await sweeps.expireDue(new Date(now + 26 * 60 * 60_000));
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'past_due' });
    await sweeps.expireDue(new Date(now + 27 * 60 * 60_000));
    expect(await h.one('SELECT status, end_reason FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'expired', end_reason: 'payment_overdue' });
  });

  it('the sweep expires the subscription while its renewal is being quoted (its move committed after our read): 409 subscription_ended, no quote offered', async () => {
    const u = await h.t.register();
    const subId = await pastDueNearGraceEnd(u.id, 30 * 60_000);
    const [renewal] = (await h.t.db.dataSource.query(`SELECT id FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`, [subId])) as Array<{ id: string }>;
    // The sweep's move, held open: the quote reads the subscription past due, then waits on its row.
    const sweep = h.t.db.dataSource.createQueryRunner();
    await sweep.connect();
    await sweep.startTransaction();
    try {
      await sweep.query(`UPDATE user_subscriptions SET status = 'expired', end_reason = 'payment_overdue', ended_at = now() WHERE id = $1`, [subId]);
      const answer = h.initialize(u.access_token, { plan_id: h.plans.managed_basic, crypto_currency: 'USDT' });
      await new Promise((r) => setTimeout(r, 500));
      await sweep.commitTransaction();
      const res = await answer;
      // Before: 201, a quote for an expired subscription, whose payment could then only fail its activation.
      expect([res.status, res.body]).toEqual([409, expect.objectContaining({ code: 'subscription_ended' })]);
    } finally {
      if (sweep.isTransactionActive) await sweep.rollbackTransaction();
      await sweep.release();
    }
    expect(await h.one(`SELECT provider, status, crypto_amount FROM payments WHERE id = $1`, [renewal.id])).toEqual({ provider: null, status: 'pending', crypto_amount: null });
  });

  it('a renewal is not switched between CoinGate and an OKX quote while the one it has can still be paid: 409 payment_in_progress; once expired it may be', async () => {
    const u = await h.t.register();
    const subId = await activeCryptoSub(u.id, 'enterprise', new Date(Date.now() + 2 * DAY));
    await h.t.app.get(BillingScheduler).tick();
    const checkout = () => h.t.request<{ payment_id: string; code?: string }>('POST', '/api/payments/crypto/coingate', { token: u.access_token, body: { plan_id: h.plans.enterprise } });
    const renewalRow = () => h.one<{ provider: string | null; status: string }>(`SELECT provider, status FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`, [subId]);

    const cg = await checkout();
    expect(cg.status).toBe(201);
    // Before: 201, the row became an OKX quote; CoinGate's paid callback for that order was then refused, its money never applied.
    const okxWhileCg = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect([okxWhileCg.status, (okxWhileCg.body as unknown as { code: string }).code]).toEqual([409, 'payment_in_progress']);
    expect(await renewalRow()).toEqual({ provider: 'coingate', status: 'pending' });

    // CoinGate expires its order (the row stays pending until its callback): a quote may be made now.
    h.coingate.setStatus(h.coingate.byOrderId(cg.body.payment_id)!.id, 'expired');
    const quote = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect([quote.status, quote.body.payment_id]).toEqual([201, cg.body.payment_id]);
    // And back: not while that quote is open (its deposit would then match nothing).
    const cgWhileOkx = await checkout();
    expect([cgWhileOkx.status, cgWhileOkx.body.code]).toEqual([409, 'payment_in_progress']);
    expect(await renewalRow()).toEqual({ provider: 'okx', status: 'pending' });
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: quote.body.crypto_amount });
    await h.checker.tick();
    expect(await renewalRow()).toEqual({ provider: 'okx', status: 'completed' });
  });

  it('a renewal whose CoinGate order was cancelled (or invalid) there is still payable: in USDT, or by a new CoinGate order; the failed order stays refused', async () => {
    const u = await h.t.register();
    const subId = await activeCryptoSub(u.id, 'enterprise', new Date(Date.now() + 2 * DAY));
    await h.t.app.get(BillingScheduler).tick();
    const checkout = (token: string) =>
      h.t.request<{ payment_id: string; payment_url: string; code?: string }>('POST', '/api/payments/crypto/coingate', { token, body: { plan_id: h.plans.enterprise } });
    const callback = (o: Parameters<typeof h.coingate.callbackForm>[0]) =>
      h.t.request<{ outcome?: string; code?: string }>('POST', '/api/payments/crypto/callback', { raw: h.coingate.callbackForm(o), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const renewalRow = (id: string) => h.one<{ provider: string | null; status: string }>(`SELECT provider, status FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`, [id]);

    const cg = await checkout(u.access_token);
    expect(cg.status).toBe(201);
    const order = h.coingate.setStatus(h.coingate.byOrderId(cg.body.payment_id)!.id, 'canceled');
    expect((await callback(order)).body).toEqual({ outcome: 'failed' });
    expect(await renewalRow(subId)).toEqual({ provider: 'coingate', status: 'failed' });

    // Before: the failed row was no renewal any more, initialize fell through to subscribe: 409 already_subscribed.
    const quote = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(quote.status).toBe(201);
    expect(quote.body).toMatchObject({ payment_id: cg.body.payment_id, subscription_id: subId, kind: 'renewal' });
    expect(await renewalRow(subId)).toEqual({ provider: 'okx', status: 'pending' });
    // The cancelled order's callback, again or late, changes nothing.
    expect((await callback(order)).status).toBe(400);
    expect(await renewalRow(subId)).toEqual({ provider: 'okx', status: 'pending' });
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: quote.body.crypto_amount });
    await h.checker.tick();
    expect(await renewalRow(subId)).toEqual({ provider: 'okx', status: 'completed' });
    expect(await h.one(`SELECT count(*)::int AS n FROM user_subscriptions WHERE user_id = $1`, [u.id])).toEqual({ n: 1 });

    // Invalid at CoinGate, then a new CoinGate order for the same row; the invalid one stays refused.
    const u2 = await h.t.register();
    const sub2 = await activeCryptoSub(u2.id, 'enterprise', new Date(Date.now() + 2 * DAY));
    await h.t.app.get(BillingScheduler).tick();
    const first = await checkout(u2.access_token);
    const invalid = h.coingate.setStatus(h.coingate.byOrderId(first.body.payment_id)!.id, 'invalid');
    expect((await callback(invalid)).body).toEqual({ outcome: 'failed' });
    const again = await checkout(u2.access_token);
    expect(again.status).toBe(201);
    expect(again.body.payment_id).toBe(first.body.payment_id);
    expect(again.body.payment_url).not.toBe(first.body.payment_url);
    expect(await renewalRow(sub2)).toEqual({ provider: 'coingate', status: 'pending' });
    expect((await callback(h.coingate.setStatus(invalid.id, 'paid', { amount: '99', currency: 'USDT' }))).status).toBe(400);
    expect(await renewalRow(sub2)).toEqual({ provider: 'coingate', status: 'pending' });
  });

  it('the checker completes a renewal while its user asks to pay it again: the second request waits and is answered, no deadlock', async () => {
    const u = await h.t.register();
    const subId = await activeCryptoSub(u.id, 'enterprise', new Date(Date.now() + 2 * DAY));
    await h.t.app.get(BillingScheduler).tick();
    const body = { plan_id: h.plans.enterprise, crypto_currency: 'USDT' };
    const quote = await h.initialize(u.access_token, body);
    expect(quote.status).toBe(201);
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: quote.body.crypto_amount });
    // The checker has completed the renewal row (its UPDATE holds the row) and is about to activate.
    const paused = pauseOnce(h.t.app.get(CryptoPaymentCompletion), 'apply', 'before');
    try {
      const tick = h.checker.tick();
      await paused.reached;
      // The user asks again: initialize takes the user's billing lock, then the renewal row.
      const again = h.initialize(u.access_token, body);
      for (let i = 0; i < 200; i++) {
        const [row] = (await h.t.db.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)) as Array<{ n: number }>;
        if (row.n > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      // Then the activation takes the user's billing lock. Before: a deadlock, the request answered 500.
      paused.release();
      const [ticked, res] = await Promise.all([tick, again]);
      expect(ticked).toMatchObject({ completed: 1 });
      // Paid meanwhile: nothing left to pay for this plan.
      expect([res.status, (res.body as unknown as { code: string }).code]).toEqual([409, 'already_subscribed']);
    } finally {
      paused.release();
      jest.restoreAllMocks();
    }
    expect(await h.one(`SELECT status FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`, [subId])).toEqual({ status: 'completed' });
  });

  it('an unpaid crypto renewal: past_due through the grace, then expired (and the request expires)', async () => {
    const u = await h.t.register();
    const end = new Date(Date.now() + 1 * DAY);
    const subId = await activeCryptoSub(u.id, 'managed_basic', end);
    const scheduler = h.t.app.get(BillingScheduler);
    await scheduler.tick();
    await scheduler.tick(new Date(end.getTime() + 60_000));
    expect(await h.one('SELECT status FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'past_due' });
    const afterGrace = new Date(end.getTime() + 3 * DAY + 60_000);
    await scheduler.tick(afterGrace);
    expect(await h.one('SELECT status, end_reason FROM user_subscriptions WHERE id = $1', [subId])).toEqual({ status: 'expired', end_reason: 'payment_overdue' });
    await h.checker.runOnce(afterGrace);
    expect(await h.one(`SELECT status FROM payments WHERE subscription_id = $1 AND kind = 'renewal'`, [subId])).toEqual({ status: 'expired' });
  });

  it('a crypto plan replacing a card plan: the Stripe subscription is queued on the cancel outbox, the unused paid time is credited', async () => {
    const u = await h.t.register();
    const now = Date.now();
    const cardStart = new Date(now - 15 * DAY);
    const cardEnd = new Date(now + 15 * DAY);
    const [card] = (await h.t.db.dataSource.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor, stripe_subscription_id)
       SELECT $1, id, plan_type, 'active', 'monthly', 'stripe', true, $2, $3, $2, 'sub_card_1' FROM subscription_plans WHERE code = 'pro' RETURNING id`,
      [u.id, cardStart, cardEnd],
    )) as Array<{ id: string }>;
    await h.t.db.dataSource.query(`INSERT INTO subscription_periods (subscription_id, provider, payment_reference, period_start, period_end) VALUES ($1, 'stripe', 'in_card_1', $2, $3)`, [
      card.id,
      cardStart,
      cardEnd,
    ]);
    await h.t.db.dataSource.query(
      `INSERT INTO stripe_subscriptions (stripe_subscription_id, subscription_id, user_id, stripe_customer_id, status, state_at) VALUES ('sub_card_1', $1, $2, 'cus_1', 'active', now())`,
      [card.id, u.id],
    );

    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(init.status).toBe(201);
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    await h.checker.tick();

    expect(await h.one('SELECT status, end_reason, replaced_by_id FROM user_subscriptions WHERE id = $1', [card.id])).toEqual({
      status: 'cancelled',
      end_reason: 'replaced',
      replaced_by_id: init.body.subscription_id,
    });
    expect(await h.one('SELECT subscription_id, reason, done_at FROM stripe_cancel_outbox WHERE stripe_subscription_id = $1', ['sub_card_1'])).toEqual({
      subscription_id: card.id,
      reason: 'replaced',
      done_at: null,
    });
    // Half of a $29 month left ≈ $14.50 ≈ 14.5/99 of an Enterprise month on top of the paid month.
    const sub = await h.one<{ status: string; end_date: Date; start_date: Date }>('SELECT status, start_date, end_date FROM user_subscriptions WHERE id = $1', [init.body.subscription_id]);
    expect(sub.status).toBe('active');
    const monthMs = sub.end_date.getTime() - sub.start_date.getTime();
    const extraDays = new Decimal(monthMs).div(DAY).toNumber();
    expect(extraDays).toBeGreaterThan(28 + 0.14 * 28);
    expect(extraDays).toBeLessThan(31 + 0.16 * 31 + 0.1);
  });

  it('a plan change over a crypto plan whose renewal was paid ahead: the rest of the current month and the prepaid month are both credited', async () => {
    const u = await h.t.register();
    const now = Date.now();
    // Day 25 of a $29 month, the next month already paid (renewals are asked for days ahead).
    const [s0, s1, s2] = [new Date(now - 25 * DAY), new Date(now + 5 * DAY), new Date(now + 35 * DAY)];
    const [old] = (await h.t.db.dataSource.query(
      `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor)
       SELECT $1, id, plan_type, 'active', 'monthly', 'crypto', true, $2, $3, $2 FROM subscription_plans WHERE code = 'pro' RETURNING id`,
      [u.id, s0, s2],
    )) as Array<{ id: string }>;
    await h.t.db.dataSource.query(
      `INSERT INTO subscription_periods (subscription_id, provider, payment_reference, period_start, period_end) VALUES ($1, 'okx', $2, $3, $4), ($1, 'okx', $5, $4, $6)`,
      [old.id, `paid-${old.id}-1`, s0, s1, `paid-${old.id}-2`, s2],
    );
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    expect(init.status).toBe(201);
    h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount });
    await h.checker.tick();
    const sub = await h.one<{ status: string; end_date: Date; start_date: Date }>('SELECT status, start_date, end_date FROM user_subscriptions WHERE id = $1', [init.body.subscription_id]);
    expect(sub.status).toBe('active');
    // ≈ $4.83 + $29 = $33.83 of $99 months ≈ 10 days on top of the paid month; the prepaid month alone gave ≈ 8.8.
    const extraDays = (sub.end_date.getTime() - sub.start_date.getTime()) / DAY - 30;
    expect(extraDays).toBeGreaterThan(9.4);
    expect(extraDays).toBeLessThan(11.2);
  });
});
