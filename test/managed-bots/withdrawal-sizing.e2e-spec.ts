import { Decimal } from '@torgovo/core';
import { DataSource } from 'typeorm';
import type { TestUser } from '../custom-bots/support';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { connectOkx, createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

/**
 * "A buy is fanned out, then the follower withdraws, then the buy is placed." The fan-out fixes the
 * order's quote amount from the investment at that moment (investment × fraction): a follower of
 * 1,000 who withdrew 900 after a buy of fraction 1 was fanned out still spent 1,000. The placement
 * rule now spends at most the follow's investment at the decision × the signal's fraction.
 */
// Both paths: live orders decided alone (PlacementDecider) and in a batch (PlacementBatchDecider); paper always batches.
describe.each([
  { path: 'single', batchSize: '0' },
  { path: 'batch', batchSize: '500' },
])('managed followers: a withdrawal after a fan-out is not spent ($path path, e2e)', ({ batchSize }) => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, LOG_LEVEL: 'warn', TRADING_LIVE_BATCH_SIZE: batchSize });
    ds = t.app.get(DataSource);
    admin = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  const withdraw = async (u: TestUser, botId: string, amount: string) => {
    const res = await t.request<{ investment: string }>('POST', `/api/managed-bot/${botId}/investment`, { token: u.access_token, body: { amount } });
    expect([res.status, lastError(t)]).toEqual([200, '']);
    return res.body;
  };

  /** The follower's buy once final: what it spent (cost, else the quote amount it was sent with). */
  async function settledBuy(botId: string): Promise<{ status: string; quote_amount: string; spent: string }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await drain(t, botId);
      const [o] = (await ds.query(`SELECT status, quote_amount::text, coalesce(cost, 0)::text AS spent FROM orders WHERE managed_bot_id = $1 AND side = 'buy'`, [botId])) as Array<{
        status: string;
        quote_amount: string;
        spent: string;
      }>;
      if (o.status !== 'open') return o;
      // A live fill is read back after the placement.
      if (Date.now() > deadline) throw new Error('the buy was not read back');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it.each(['paper', 'live'] as const)('%s follower of 1,000: a buy of fraction 1 fanned out, then 900 withdrawn, then placed: spends at most 100', async (mode) => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    if (mode === 'live') await connectOkx(t, u, okx.addAccount({ balances: { USDT: '5000' } }));
    await follow(t, u, botId, { investment: '1000', mode });
    // The live fake's ask: inside the follower's slippage.
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '1', price: '73384.8', signal_id: `all-in-${mode}` })).orders_created).toBe(1);
    const [fanned] = (await ds.query(`SELECT quote_amount::text FROM orders WHERE managed_bot_id = $1`, [botId])) as Array<{ quote_amount: string }>;
    expect(new Decimal(fanned.quote_amount).toFixed()).toBe('1000');

    expect((await withdraw(u, botId, '-900')).investment).toBe('100');
    const buy = await settledBuy(botId);
    expect(buy.status).toBe('filled');
    expect(new Decimal(buy.quote_amount).toFixed()).toBe('100');
    expect(new Decimal(buy.spent).lte(100)).toBe(true);
    expect(new Decimal(buy.spent).gt(99)).toBe(true);
  });
});
