import { Decimal } from '@torgovo/core';
import { ManagedBotsJob } from '@torgovo/managed-bots';
import { PlacementBatchDecider, PlacementDecider, TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import type { TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { decidedThen } from '../support/decided-then';
import { connectOkx, createManagedBot, drain, follow, managedSubscriber, signal } from './support';

/**
 * "A follower's order is decided, then the follow ends (unsubscribe) or the managed bot is paused,
 * then the send." As with a bot stop (test/orders/stop-after-decision.e2e-spec.ts): the change is
 * answered only once every send decided before its commit has its outcome (OrderSendFence), so after
 * the answer no order of that follow reaches the exchange; an order claimed before the change but
 * decided after it is canceled by the placement rule and never sent.
 */
// Both live paths: an order decided alone (PlacementDecider), and in a batch (PlacementBatchDecider).
describe.each([
  { path: 'single', batchSize: '0' },
  { path: 'batch', batchSize: '500' },
])('managed followers: unsubscribe and pause wait for sends already decided ($path path, e2e)', ({ batchSize }) => {
  let t: TestApp;
  let okx: FakeOkxServer;
  let ds: DataSource;
  let admin: { id: string; access_token: string };
  let manager: TradingManager;
  let decider: PlacementDecider | PlacementBatchDecider;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, OKX_API_URL: okx.url, LOG_LEVEL: 'warn', TRADING_LIVE_BATCH_SIZE: batchSize });
    ds = t.app.get(DataSource);
    admin = await t.admin();
    manager = t.app.get(TradingManager);
    decider = batchSize === '0' ? t.app.get(PlacementDecider) : t.app.get(PlacementBatchDecider);
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  /** A live follower on the fake OKX and one buy fanned out to them (at the fake's ask: inside the slippage). */
  async function liveFollowerWithOrder(tag: string): Promise<{ u: TestUser; account: FakeAccount; botId: string; orderId: string }> {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const account = okx.addAccount({ balances: { USDT: '5000' } });
    await connectOkx(t, u, account);
    await follow(t, u, botId, { investment: '1000', mode: 'live' });
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '73384.8', signal_id: tag })).orders_created).toBe(1);
    const [{ id }] = (await ds.query(`SELECT id FROM orders WHERE managed_bot_id = $1 AND user_id = $2`, [botId, u.id])) as Array<{ id: string }>;
    return { u, account, botId, orderId: id };
  }

  const decided = (change: () => Promise<HttpResult>) => decidedThen(decider, manager, change);

  const orderRow = async (id: string) =>
    ((await ds.query(`SELECT status, reason, sent_at FROM orders WHERE id = $1`, [id])) as Array<{ status: string; reason: string | null; sent_at: Date | null }>)[0];

  it('decided → POST /managed-bot/{id}/unsubscribe → the send: the unsubscribe answers after the order reached OKX, and nothing arrives after', async () => {
    const { u, account, botId, orderId } = await liveFollowerWithOrder('fence-unsub');
    const { res, answeredAt, answeredBeforeSend } = await decided(() => t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ended', end_reason: 'user' });
    // Without the fence the answer went out during the pause, before the order arrived.
    expect(answeredBeforeSend).toBe(false);
    const placed = [...account.orders.values()];
    expect(placed).toHaveLength(1);
    expect(answeredAt).toBeGreaterThanOrEqual(placed[0].cTime);
    expect((await orderRow(orderId)).status).toBe('filled');
    // A later signal writes nothing for them and nothing else reaches their account.
    expect((await signal(t, admin, botId, { action: 'buy', fraction: '0.1', price: '73384.8', signal_id: 'fence-unsub-2' })).orders_created).toBe(0);
    await manager.runOnce();
    expect(account.orders.size).toBe(1);
  });

  it('decided → unsubscribe closing positions → the send: the buy that fills after the end is closed too (not left on the account)', async () => {
    const { u, account, botId, orderId } = await liveFollowerWithOrder('fence-close');
    const { res } = await decided(() => t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: { close_positions: true } }));
    expect(res.status).toBe(200);
    // The buy had no fill recorded when the follow ended: its close was written all the same.
    await drain(t, botId);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = (await ds.query(`SELECT side, status, source_ref, filled::text FROM orders WHERE managed_bot_id = $1 AND user_id = $2 ORDER BY created_at`, [botId, u.id])) as Array<{
        side: string;
        status: string;
        source_ref: string;
        filled: string;
      }>;
      if (rows.every((r) => r.status === 'filled' || r.status === 'canceled')) {
        expect(rows.map((r) => [r.side, r.status, r.source_ref.split(':')[0]])).toEqual([
          ['buy', 'filled', 'sig'],
          ['sell', 'filled', 'close'],
        ]);
        // All of it: what the buy filled, less its fee paid in BTC (0.1 %), to the lot size.
        expect(new Decimal(rows[1].filled).toFixed()).toBe(new Decimal(rows[0].filled).mul('0.999').toDecimalPlaces(8, Decimal.ROUND_DOWN).toFixed());
        break;
      }
      if (Date.now() > deadline) throw new Error(`orders not final: ${JSON.stringify(rows)}`);
      await ds.query(`UPDATE orders SET next_attempt_at = now() WHERE managed_bot_id = $1 AND status = 'pending'`, [botId]);
      await manager.runOnce();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await orderRow(orderId)).status).toBe('filled');
    expect([...account.orders.values()].map((o) => o.side)).toEqual(['buy', 'sell']);
  });

  it('claimed → unsubscribe (answered) → decided: canceled follow_ended, never sent', async () => {
    const { u, account, botId, orderId } = await liveFollowerWithOrder('fence-claimed');
    let unsubscribed: HttpResult | undefined;
    // The order is claimed, not decided: the unsubscribe does not wait for it.
    const unsubscribe = async () => {
      unsubscribed = await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
    };
    if ('decideBatch' in decider) {
      const original = decider.decideBatch.bind(decider);
      jest.spyOn(decider, 'decideBatch').mockImplementationOnce(async (...args) => (await unsubscribe(), original(...args)));
    } else {
      const original = decider.decide.bind(decider);
      jest.spyOn(decider, 'decide').mockImplementationOnce(async (...args) => (await unsubscribe(), original(...args)));
    }
    await manager.runOnce();
    expect(unsubscribed?.status).toBe(200);
    const row = await orderRow(orderId);
    expect([row.status, row.reason?.split(':')[0]]).toEqual(['canceled', 'follow_ended']);
    expect(row.sent_at).toBeNull();
    expect(account.orders.size).toBe(0);
  });

  it('decided → PATCH /managed-bots/{id} paused → the send: the pause answers after the order reached OKX', async () => {
    const { account, botId, orderId } = await liveFollowerWithOrder('fence-pause');
    const { res, answeredAt, answeredBeforeSend } = await decided(() =>
      t.request('PATCH', `/api/managed-bots/${botId}`, { token: admin.access_token, body: { status: 'paused' } }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'paused' });
    expect(answeredBeforeSend).toBe(false);
    const placed = [...account.orders.values()];
    expect(placed).toHaveLength(1);
    expect(answeredAt).toBeGreaterThanOrEqual(placed[0].cTime);
    expect((await orderRow(orderId)).status).toBe('filled');
  });

  it('decided → the portfolio stop-loss ends the follow (the job) → the send: the job goes on only after the order reached OKX', async () => {
    const { u, account, orderId } = await liveFollowerWithOrder('fence-stop-loss');
    // The follow's equity reads 500 of 1,000 at the next recompute (as if the book had lost 500): below its 90 % stop.
    await ds.query(`UPDATE managed_bot_follows SET stop_loss_pct = 90, pnl_base = 500 WHERE user_id = $1`, [u.id]);
    const job = t.app.get(ManagedBotsJob);
    const { res, answeredAt, answeredBeforeSend } = await decidedThen(decider, manager, () => job.run(new Date()));
    expect(res.stopped).toBe(1);
    expect(answeredBeforeSend).toBe(false);
    const placed = [...account.orders.values()];
    expect(placed).toHaveLength(1);
    expect(answeredAt).toBeGreaterThanOrEqual(placed[0].cTime);
    expect((await orderRow(orderId)).status).toBe('filled');
    const [f] = (await ds.query(`SELECT status, end_reason FROM managed_bot_follows WHERE user_id = $1`, [u.id])) as Array<{ status: string; end_reason: string }>;
    expect(f).toEqual({ status: 'ended', end_reason: 'stop_loss' });
  });
});
