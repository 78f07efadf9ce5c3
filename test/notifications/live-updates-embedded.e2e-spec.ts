import { LiveUpdatesGateway } from '@torgovo/live-updates';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '@torgovo/core';
import { createBot, TestUser } from '../custom-bots/support';
import { createTestApp, TestApp } from '../support/app';
import { LiveClient } from '../support/ws-client';

// The embedded default: PGlite behind pglite-socket answers a NOTIFY only on the socket that sent
// it, so the gateway learns of events by polling the feed. Same protocol, same isolation.
/** The Free plan through the API (t.db is the PostgreSQL clone, not this PGlite). */
async function subscribeFree(t: TestApp, u: TestUser): Promise<void> {
  const plans = await t.request<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
  const free = plans.body.items.find((p) => p.code === 'free')!;
  const res = await t.request('POST', '/api/subscriptions', {
    token: u.access_token,
    body: { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false },
  });
  expect(res.status).toBe(201);
}

describe('live updates on embedded PGlite', () => {
  let pglite: EmbeddedPostgresHandle;
  let t: TestApp;

  beforeAll(async () => {
    pglite = await startEmbeddedPostgres('memory', 10);
    t = await createTestApp({ DATABASE_URL: pglite.url, WS_POLL_INTERVAL_MS: '200' });
  }, 120_000);
  afterAll(async () => {
    await t?.app.close();
    await t?.db.drop();
    await pglite?.stop();
  });

  it('pushes by polling, only to the owner, and resumes', async () => {
    const alice = await t.register();
    const bob = await t.register();
    const ca = await LiveClient.connect(t.url, alice.access_token);
    const cb = await LiveClient.connect(t.url, bob.access_token);
    await subscribeFree(t, alice);
    const bot = (await createBot(t, alice)).body as { id: string };
    const seen = await ca.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    expect(t.app.get(LiveUpdatesGateway).listening).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    expect(cb.events()).toHaveLength(0);

    ca.close();
    expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: alice.access_token })).status).toBe(200);
    const again = await LiveClient.connect(t.url, alice.access_token);
    again.send({ type: 'resume', cursor: seen.cursor });
    await again.next((m) => m.type === 'resumed');
    expect(again.events('bot.updated').map((m) => m.data?.status)).toEqual(['stopped']);
    again.close();
    cb.close();
  }, 120_000);
});
