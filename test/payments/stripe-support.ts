import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { BillingCycle } from '@torgovo/plans';
import { addBillingPeriods } from '@torgovo/subscriptions';
import { createTestApp, HttpResult, TestApp } from '../support/app';
import { FakeStripeServer } from '../fakes/stripe/fake-stripe-server';
import type { Wire } from '../fakes/stripe/stripe-wire';

/**
 * Where a card period paid from `startSec` (Stripe's period start, unix seconds) ends: `periods`
 * calendar months (or years) later in APP_TIMEZONE (the tests run with its default), as for crypto.
 */
export function calendarEnd(startSec: number, periods = 1, cycle: BillingCycle = 'monthly'): number {
  return addBillingPeriods(new Date(startSec * 1000), periods, cycle, 'Asia/Karachi').getTime();
}

/** The service period of an invoice's first line (unix seconds). */
export const linePeriod = (invoice: Wire): { start: number; end: number } => ((invoice.lines as { data: Array<{ period: { start: number; end: number } }> }).data[0]).period;

export const STRIPE_UA = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';

export interface StripeHarness {
  t: TestApp;
  fake: FakeStripeServer;
  secretKey: string;
  webhookSecret: string;
  plans: Record<string, string>;
  /** The Stripe variables the api runs with, for a worker (bootBilling) that calls the same fake. */
  env: Record<string, string>;
  deliver(event: Wire, opts?: { timestamp?: number; secret?: string; signature?: string }): Promise<HttpResult>;
  checkout(token: string, planCode: string, cycle?: 'monthly' | 'yearly'): Promise<HttpResult<{ checkout_url: string; session_id: string; payment_id: string; subscription_id: string }>>;
  sub(id: string): Promise<{ status: string; end_date: Date | null; cancel_at_period_end: boolean; stripe_subscription_id: string | null; end_reason: string | null }>;
  count(sql: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

const signer = new Stripe('sk_test_signer_only');

/** `extra`: more variables for the api (WORKER_JOBS_BY_HAND: the worker's jobs in it, driven by hand). */
export async function createStripeHarness(extra: Record<string, string> = {}): Promise<StripeHarness> {
  const secretKey = `sk_test_${randomBytes(18).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(18).toString('hex')}`;
  const fake = new FakeStripeServer(secretKey);
  const url = await fake.start();
  const env = { STRIPE_SECRET_KEY: secretKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_URL: url };
  const t = await createTestApp({
    ...env,
    STRIPE_SUCCESS_URL: 'https://app.torgovo.test/billing/success?session_id={CHECKOUT_SESSION_ID}',
    STRIPE_CANCEL_URL: 'https://app.torgovo.test/billing/cancel',
    ...extra,
  });
  const prices: Array<[string, string, number, 'month' | 'year', 'monthly' | 'yearly']> = [
    ['pro', 'price_pro_monthly', 2900, 'month', 'monthly'],
    ['pro', 'price_pro_yearly', 29000, 'year', 'yearly'],
    ['enterprise', 'price_ent_monthly', 9900, 'month', 'monthly'],
    ['enterprise', 'price_ent_yearly', 99000, 'year', 'yearly'],
    ['managed_basic', 'price_mb_monthly', 4900, 'month', 'monthly'],
  ];
  for (const [code, id, cents, interval, cycle] of prices) {
    fake.addPrice(id, cents, interval);
    await t.db.dataSource.query(`UPDATE subscription_plans SET stripe_${cycle}_price_id = $2 WHERE code = $1`, [code, id]);
    // What PATCH /subscription-plans/{id} records beside the column: the price is this plan's for good.
    await t.db.dataSource.query(`INSERT INTO plan_stripe_prices (price_id, plan_id, billing_cycle) SELECT $2, id, $3 FROM subscription_plans WHERE code = $1`, [code, id, cycle]);
  }
  const rows = (await t.db.dataSource.query('SELECT id, code FROM subscription_plans')) as Array<{ id: string; code: string }>;
  const plans = Object.fromEntries(rows.map((r) => [r.code, r.id]));

  const deliver: StripeHarness['deliver'] = (event, opts = {}) => {
    const payload = JSON.stringify(event, null, 2);
    const signature = opts.signature ?? signer.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? webhookSecret, timestamp: opts.timestamp });
    return t.request('POST', '/api/payments/webhook', {
      raw: payload,
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': STRIPE_UA },
    });
  };

  return {
    t,
    fake,
    secretKey,
    webhookSecret,
    plans,
    env,
    deliver,
    checkout: (token, planCode, cycle = 'monthly') =>
      t.request('POST', '/api/payments/create-checkout', { token, body: { plan_id: plans[planCode], billing_cycle: cycle } }),
    async sub(id) {
      const r = (await t.db.dataSource.query(
        'SELECT status, end_date, cancel_at_period_end, stripe_subscription_id, end_reason FROM user_subscriptions WHERE id = $1',
        [id],
      )) as Array<{ status: string; end_date: Date | null; cancel_at_period_end: boolean; stripe_subscription_id: string | null; end_reason: string | null }>;
      return r[0];
    },
    async count(sql, params = []) {
      const r = (await t.db.dataSource.query(sql, params)) as Array<{ n: string }>;
      return Number(r[0].n);
    },
    async close() {
      await t.close();
      await fake.stop();
    },
  };
}
