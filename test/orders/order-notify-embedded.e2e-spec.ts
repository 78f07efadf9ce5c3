import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '@torgovo/core';
import { OrderNotifyListener } from '@torgovo/trading';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, commitOrder, reload, TestWorker, waitFor } from './support';

// PGlite behind pglite-socket is one backend for every socket: LISTEN succeeds but a NOTIFY is
// answered on the socket that sent it. The listener must notice and leave the work to polling.
describe('TradingManager on embedded PGlite', () => {
  let db: TestDatabase;
  let pglite: EmbeddedPostgresHandle;
  let w: TestWorker | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    pglite = await startEmbeddedPostgres('memory', 10);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
    await pglite?.stop();
    await db?.drop();
  });

  it('falls back to polling with one info log, and still fills orders', async () => {
    w = await bootWorker(db, { TRADING_MANAGER_ENABLED: 'true', TRADING_POLL_MS: '100', TRADING_SYNC_INTERVAL_MS: '0', DATABASE_URL: pglite.url });
    const worker = w;
    await waitFor(() => worker.logs.text().includes('Order notifications unavailable'), 10_000);
    expect(w.ctx.get(OrderNotifyListener).listening).toBe(false);
    const order = await commitOrder(w, await createUser(w.ds));
    await waitFor(async () => (await reload(worker.ds, order.id)).status === 'filled', 5_000);
    const lines = w.logs.lines.filter((l) => l.includes('Order notifications'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30 });
  }, 120_000);
});
