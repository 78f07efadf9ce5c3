import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DataSource } from 'typeorm';
import {
  EntitlementsService,
  RequiresSubscription,
  SubscriptionActivationService,
  SubscriptionGuard,
  SubscriptionsService,
} from '@torgovo/subscriptions';
import { createTestDatabase, TestDatabase } from '../support/database';
import { BillingHarness, bootBilling, createUser, domainErrorOf, planIds } from './billing-harness';

const DAY = 86_400_000;

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await domainErrorOf(p);
  expect(err.status).toBe(403);
  return err.code;
}

describe('entitlements on PostgreSQL', () => {
  let db: TestDatabase;
  let h: BillingHarness;
  let ds: DataSource;
  let ent: EntitlementsService;
  let subs: SubscriptionsService;
  let plans: Record<string, string>;

  async function onPlan(code: string): Promise<{ user: string; id: string }> {
    const user = await createUser(ds, 'ent');
    const plan = plans[code];
    const free = code === 'free';
    const sub = await subs.subscribe(user, { plan_id: plan, billing_cycle: 'monthly', payment_method: free ? 'none' : 'crypto' });
    if (sub.status === 'pending_payment') {
      await h.get(SubscriptionActivationService).activate(sub.id, { payment: { provider: 'okx', reference: `e-${sub.id}` } });
    }
    return { user, id: sub.id };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    h = await bootBilling(db);
    ds = h.ds;
    ent = h.get(EntitlementsService);
    subs = h.get(SubscriptionsService);
    plans = await planIds(ds);
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('no subscription of the type → no_active_subscription', async () => {
    const user = await createUser(ds);
    expect(await codeOf(ent.require(user, 'custom_bot'))).toBe('no_active_subscription');
    const { user: freeUser } = await onPlan('free');
    expect(await codeOf(ent.require(freeUser, 'managed_bot'))).toBe('no_active_subscription');
  });

  it('free: one paper bot on one pair; live trading is refused', async () => {
    const { user } = await onPlan('free');
    const none = { bots: 0, symbols: [] };
    await expect(ent.assertCanRunBot(user, 'custom_bot', { usage: none, symbol: 'BTC/USDT', live: false })).resolves.toMatchObject({ plan_code: 'free', max_bots: 1 });
    expect(await codeOf(ent.assertCanRunBot(user, 'custom_bot', { usage: none, symbol: 'BTC/USDT', live: true }))).toBe('live_trading_not_allowed');
    expect(await codeOf(ent.require(user, 'custom_bot', { live: true }))).toBe('live_trading_not_allowed');
    expect(await codeOf(ent.assertCanRunBot(user, 'custom_bot', { usage: { bots: 1, symbols: ['BTC/USDT'] }, symbol: 'BTC/USDT', live: false }))).toBe('plan_limit');
  });

  it('pro: three bots, three pairs, live; a new pair over the limit is plan_limit but an existing pair is fine', async () => {
    const { user } = await onPlan('pro');
    const usage = { bots: 2, symbols: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'] };
    await expect(ent.assertCanRunBot(user, 'custom_bot', { usage, symbol: 'ETH/USDT', live: true })).resolves.toMatchObject({ live_trading: true });
    expect(await codeOf(ent.assertCanRunBot(user, 'custom_bot', { usage, symbol: 'XRP/USDT', live: true }))).toBe('plan_limit');
    expect(await codeOf(ent.assertCanRunBot(user, 'custom_bot', { usage: { bots: 3, symbols: ['BTC/USDT'] }, symbol: 'BTC/USDT', live: false }))).toBe('plan_limit');
  });

  it('enterprise: unlimited bots and pairs', async () => {
    const { user } = await onPlan('enterprise');
    const usage = { bots: 500, symbols: Array.from({ length: 300 }, (_, i) => `C${i}/USDT`) };
    await expect(ent.assertCanRunBot(user, 'custom_bot', { usage, symbol: 'NEW/USDT', live: true })).resolves.toMatchObject({ max_bots: null, max_trading_pairs: null });
  });

  it('managed: counts followed bots, ignores pairs', async () => {
    const { user } = await onPlan('managed_basic');
    await expect(ent.assertCanRunBot(user, 'managed_bot', { usage: { bots: 0, symbols: [] }, live: true })).resolves.toMatchObject({ plan_type: 'managed_bot' });
    expect(await codeOf(ent.assertCanRunBot(user, 'managed_bot', { usage: { bots: 1, symbols: [] }, live: true }))).toBe('plan_limit');
  });

  it('dates decide before the sweep runs: renewable access lasts through the grace, a non-renewing one ends at end_date', async () => {
    const { user, id } = await onPlan('enterprise');
    const sub = await subs.get(user, id);
    const end = sub.end_date!.getTime();
    await expect(ent.require(user, 'custom_bot', {}, new Date(end + 2 * DAY))).resolves.toBeDefined();
    expect(await codeOf(ent.require(user, 'custom_bot', {}, new Date(end + 3 * DAY + 1)))).toBe('no_active_subscription');
    await subs.update(user, id, { cancel_at_period_end: true });
    await expect(ent.require(user, 'custom_bot', {}, new Date(end - 1))).resolves.toBeDefined();
    expect(await codeOf(ent.require(user, 'custom_bot', {}, new Date(end + 1)))).toBe('no_active_subscription');
  });

  it('a trial grants until its end; a cancelled subscription grants nothing', async () => {
    const user = await createUser(ds);
    const trial = await subs.subscribe(user, { plan_id: plans.pro, billing_cycle: 'monthly', payment_method: 'none' });
    expect(trial.status).toBe('trial');
    await expect(ent.require(user, 'custom_bot', { live: true })).resolves.toMatchObject({ status: 'trial' });
    expect(await codeOf(ent.require(user, 'custom_bot', {}, new Date(trial.end_date!.getTime() + 1)))).toBe('no_active_subscription');
    await subs.cancel(user, trial.id);
    expect(await codeOf(ent.require(user, 'custom_bot'))).toBe('no_active_subscription');
  });

  describe('@RequiresSubscription guard', () => {
    class Routes {
      @RequiresSubscription('custom_bot', { live: true })
      live(): void {}
      @RequiresSubscription('managed_bot')
      managed(): void {}
      open(): void {}
    }
    const guard = () => new SubscriptionGuard(new Reflector(), ent);
    const ctx = (handler: () => void, req: Record<string, unknown>): ExecutionContext =>
      ({
        getHandler: () => handler,
        getClass: () => Routes,
        switchToHttp: () => ({ getRequest: () => req }),
      }) as unknown as ExecutionContext;

    it('lets an entitled user through and puts the entitlement on the request', async () => {
      const { user } = await onPlan('pro');
      const req: Record<string, unknown> = { user: { id: user, email: 'x', role: 'user' } };
      await expect(guard().canActivate(ctx(Routes.prototype.live, req))).resolves.toBe(true);
      expect(req.entitlement).toMatchObject({ plan_code: 'pro', live_trading: true });
    });

    it('refuses with the entitlement error codes, and ignores undecorated routes', async () => {
      const { user } = await onPlan('free');
      const req = { user: { id: user, email: 'x', role: 'user' } };
      expect(await codeOf(guard().canActivate(ctx(Routes.prototype.live, req)))).toBe('live_trading_not_allowed');
      expect(await codeOf(guard().canActivate(ctx(Routes.prototype.managed, req)))).toBe('no_active_subscription');
      await expect(guard().canActivate(ctx(Routes.prototype.open, {}))).resolves.toBe(true);
    });
  });
});
