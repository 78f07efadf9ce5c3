import { isCcxtLoaded } from '@torgovo/core';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';
import { bootWorker, connectExchange, TestWorker } from './support';

/**
 * The worker loads ccxt's OKX module at start when someone has an exchange connected, so the first
 * live order after a deploy does not pay for it; a paper-only worker never loads it. (Jest gives each
 * test file its own module registry: nothing here has loaded ccxt before these cases.)
 */
describe('the worker loads its exchange client at start only if an exchange is connected (e2e)', () => {
  let db: TestDatabase;
  let fake: FakeOkxServer;
  let w: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await new FakeOkxServer().start();
    w = await bootWorker(db, { OKX_API_URL: fake.url });
  });
  afterAll(async () => {
    await w?.close();
    await fake?.stop();
    await db?.drop();
  });

  it('no exchange connected: not loaded; a user connects one → loaded at the next start', async () => {
    await createUser(w.ds);
    await expect(w.manager.warmLiveClient()).resolves.toBe(false);
    expect(isCcxtLoaded()).toBe(false);

    const userId = await createUser(w.ds);
    await connectExchange(w, userId, fake.addAccount({ balances: { USDT: '100' } }));
    await expect(w.manager.warmLiveClient()).resolves.toBe(true);
    expect(isCcxtLoaded()).toBe(true);
    expect(w.logs.lines.some((l) => l.includes('"Exchange client loaded at start"'))).toBe(true);
    // Once loaded, nothing more to do.
    await expect(w.manager.warmLiveClient()).resolves.toBe(false);
  });
});
