import { OrderNotifyListener } from '@torgovo/trading';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, commitOrder, reload, sleep, TestWorker, waitFor } from './support';

// The next poll is a minute away in every test: only the NOTIFY can start a pass after the first one.
const LONG_POLL = { TRADING_MANAGER_ENABLED: 'true', TRADING_POLL_MS: '60000', TRADING_SYNC_INTERVAL_MS: '0' };

// Log assertions only on the first worker booted in this file: with several workers in one
// process, the lines of those booted later were not in their own capture.
describe('TradingManager woken by NOTIFY on new orders', () => {
  let db: TestDatabase;
  let w: TestWorker;
  let listener: OrderNotifyListener;

  beforeAll(async () => {
    db = await createTestDatabase();
    w = await bootWorker(db, LONG_POLL);
    listener = w.ctx.get(OrderNotifyListener);
    await waitFor(() => listener.listening, 10_000);
    await sleep(100); // the start-up pass is over: from here only a notification claims
  });
  afterAll(async () => {
    await w?.close();
    await db?.drop();
  });

  it('fills a committed pending order within ~2 s although the next poll is a minute away', async () => {
    const order = await commitOrder(w, await createUser(w.ds));
    const ms = await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 2_000);
    expect(ms).toBeLessThan(2_000);
    expect((await reload(w.ds, order.id)).attempts).toBe(1);
  });

  it('reconnects after the listening connection is killed, and is woken again', async () => {
    const killed: unknown[] = await db.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'torgovo-orders-listener' AND datname = current_database()`,
    );
    expect(killed).toHaveLength(1);
    await waitFor(() => !listener.listening, 2_000);
    await waitFor(() => listener.listening, 5_000);
    expect(w.logs.text()).toContain('Order notifications connection lost');
    const order = await commitOrder(w, await createUser(w.ds));
    await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 2_000);
  });

  it('with TRADING_NOTIFY_ENABLED=false the same order waits for the poll', async () => {
    const off = await bootWorker(db, { ...LONG_POLL, TRADING_NOTIFY_ENABLED: 'false' });
    try {
      await w.manager.stop(); // only the worker without notifications may claim now
      await sleep(300);
      expect(off.ctx.get(OrderNotifyListener).listening).toBe(false);
      const order = await commitOrder(off, await createUser(off.ds));
      await sleep(1_500);
      expect((await reload(off.ds, order.id)).status).toBe('pending');
      await off.manager.runOnce(); // what the poll would do: the order was claimable all along
      expect((await reload(off.ds, order.id)).status).toBe('filled');
    } finally {
      await off.close();
    }
  });
});
