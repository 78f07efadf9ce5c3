import { createBot, subscribe, TestUser } from '../custom-bots/support';
import { createTestApp, TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';
import { LiveClient } from '../support/ws-client';
import { LiveUpdatesGateway } from '@torgovo/live-updates';
import { SocketCredentials } from '@torgovo/users';

const LIVE_ENV = { WS_POLL_INTERVAL_MS: '200', WS_REVALIDATE_SECONDS: '1' };

async function stopBot(t: TestApp, u: TestUser, botId: string): Promise<void> {
  const res = await t.request('POST', `/api/bots/${botId}/stop`, { token: u.access_token });
  expect(res.status).toBe(200);
}

// Live updates over /api/ws on real PostgreSQL: isolation between users, across two api
// replicas on one database (NOTIFY), resume after a reconnect, and refused credentials.
describe('live updates WebSocket', () => {
  let a: TestApp;
  let b: TestApp;
  let shared: TestDatabase;
  /** A third replica whose revalidation is far off (10 min): only a deactivation itself closes its sockets. */
  let c: TestApp;

  beforeAll(async () => {
    a = await createTestApp(LIVE_ENV);
    // The second replica: same database as the first, its own pool and LISTEN connection.
    shared = a.db;
    b = await createTestApp({ ...LIVE_ENV, DATABASE_URL: shared.url });
    c = await createTestApp({ ...LIVE_ENV, WS_REVALIDATE_SECONDS: '600', DATABASE_URL: shared.url });
  });
  afterAll(async () => {
    await c?.app.close();
    await b?.app.close();
    await a?.close();
  });

  it('listens for NOTIFY on real PostgreSQL', async () => {
    const deadline = Date.now() + 10_000;
    while (!a.app.get(LiveUpdatesGateway).listening && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(a.app.get(LiveUpdatesGateway).listening).toBe(true);
  });

  it('pushes each user only their own events, from either replica', async () => {
    const alice = await a.register();
    const bob = await a.register();
    const aliceOnA = await LiveClient.connect(a.url, alice.access_token);
    const aliceOnB = await LiveClient.connect(b.url, alice.access_token);
    const bobOnB = await LiveClient.connect(b.url, bob.access_token);

    // Alice's changes are made through replica A; Bob's through replica B.
    await subscribe(a, alice, 'free');
    const aliceBot = (await createBot(a, alice)).body as { id: string };
    await stopBot(a, alice, aliceBot.id);
    await subscribe(b, bob, 'free');
    const bobBot = (await createBot(b, bob)).body as { id: string };

    for (const c of [aliceOnA, aliceOnB]) {
      const stopped = await c.next((m) => m.type === 'bot.updated' && m.data?.id === aliceBot.id && m.data?.status === 'stopped');
      expect(stopped.cursor).toMatch(/^\d+-\d+$/);
      expect(stopped.data).toMatchObject({ id: aliceBot.id, name: 'Test bot', status: 'stopped', stop_reason: 'user' });
      await c.next((m) => m.type === 'subscription.updated' && m.data?.status === 'active');
    }
    await bobOnB.next((m) => m.type === 'bot.updated' && m.data?.id === bobBot.id);
    // Give any stray delivery time to arrive before asserting absence.
    await new Promise((r) => setTimeout(r, 800));
    const ids = (c: LiveClient) => c.events().map((m) => m.data?.id);
    expect(ids(bobOnB)).not.toContain(aliceBot.id);
    expect(ids(aliceOnA)).not.toContain(bobBot.id);
    expect(ids(aliceOnB)).not.toContain(bobBot.id);
    for (const c of [aliceOnA, aliceOnB]) expect(c.events().every((m) => m.data?.user_id === undefined || m.data.user_id === alice.id)).toBe(true);
    // Cursors only grow.
    const cursors = aliceOnA.events().map((m) => m.cursor!.split('-').map(BigInt));
    for (let i = 1; i < cursors.length; i++) expect(cursors[i][0] > cursors[i - 1][0] || (cursors[i][0] === cursors[i - 1][0] && cursors[i][1] > cursors[i - 1][1])).toBe(true);
    for (const c of [aliceOnA, aliceOnB, bobOnB]) c.close();
  });

  it('replays what was missed after a reconnect, from the last cursor', async () => {
    const u = await a.register();
    await subscribe(a, u, 'free');
    const first = await LiveClient.connect(a.url, u.access_token);
    const bot = (await createBot(a, u)).body as { id: string };
    const seen = await first.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    first.close();
    await first.closed;

    // While disconnected: the bot is stopped, then started again.
    await stopBot(a, u, bot.id);
    expect((await a.request('POST', `/api/bots/${bot.id}/start`, { token: u.access_token })).status).toBe(200);

    const again = await LiveClient.connect(b.url, u.access_token);
    again.send({ type: 'resume', cursor: seen.cursor });
    const done = await again.next((m) => m.type === 'resumed');
    const replayed = again.events('bot.updated').filter((m) => m.data?.id === bot.id);
    expect(replayed.length).toBe(2);
    expect(replayed.every((m) => m.cursor! > '' && m.cursor !== seen.cursor)).toBe(true);
    expect(done.cursor).toBe(replayed[1].cursor);
    again.close();
  });

  it('a resume on a socket that was already pushed some of the events after its cursor sends those no second time', async () => {
    const u = await a.register();
    await subscribe(a, u, 'free');
    const socket = await LiveClient.connect(a.url, u.access_token);
    const bot = (await createBot(a, u)).body as { id: string };
    const created = await socket.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    // Pushed live on this socket, then the client resumes from before it (a client that resumes on
    // every connect, while the gateway's position was behind the feed when the socket started).
    await stopBot(a, u, bot.id);
    const stopped = await socket.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id && m.data?.status === 'stopped');
    socket.send({ type: 'resume', cursor: created.cursor });
    const done = await socket.next((m) => m.type === 'resumed');
    expect(socket.events('bot.updated').filter((m) => m.data?.id === bot.id).map((m) => m.data?.status)).toEqual([created.data?.status, 'stopped']);
    expect(done.cursor).toBe(stopped.cursor);

    // After it, what happens next is pushed once, and a resume from the start sends nothing twice either.
    expect((await a.request('POST', `/api/bots/${bot.id}/start`, { token: u.access_token })).status).toBe(200);
    const botEvents = () => socket.events('bot.updated').filter((m) => m.data?.id === bot.id);
    for (const end = Date.now() + 10_000; botEvents().length < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    socket.send({ type: 'resume', cursor: created.cursor });
    await socket.next((m) => m.type === 'resumed' && m !== done);
    expect(botEvents().map((m) => m.data?.status)).toEqual([created.data?.status, 'stopped', 'running']);
    socket.close();
  });

  it('answers a malformed frame or cursor with an error and keeps the socket', async () => {
    const u = await a.register();
    const c = await LiveClient.connect(a.url, u.access_token);
    c.send('not json');
    await c.next((m) => m.type === 'error' && m.code === 'invalid_message');
    c.send({ type: 'resume', cursor: "1-1; DROP TABLE users" });
    await c.next((m) => m.type === 'error' && m.code === 'invalid_cursor');
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong');
    c.close();
  });

  it('closes with 4001 for a bad token, and accepts the token as a subprotocol', async () => {
    const bad = await LiveClient.connect(a.url);
    bad.send({ type: 'auth', access_token: 'not-a-jwt' });
    expect(await bad.closed).toEqual({ code: 4001, reason: 'unauthorized' });

    const early = await LiveClient.connect(a.url);
    early.send({ type: 'resume', cursor: '0-0' });
    expect((await early.closed).code).toBe(4001);

    const u = await a.register();
    const viaProtocol = new LiveClient(a.url, ['bearer', u.access_token]);
    await viaProtocol.open();
    expect(viaProtocol.protocol).toBe('bearer');
    await viaProtocol.next((m) => m.type === 'authenticated');
    viaProtocol.close();
  });

  it("closes a deactivated user's socket with 4003", async () => {
    const u = await a.register();
    const c = await LiveClient.connect(b.url, u.access_token);
    const admin = await a.admin();
    const res = await a.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active: false } });
    expect(res.status).toBe(200);
    expect((await c.closed).code).toBe(4003);
  });

  it("a user deactivated between the socket's credential check and its start: closed with 4003 at once, not at the next revalidation", async () => {
    const credentials = c.app.get(SocketCredentials);
    const authenticate = credentials.authenticate.bind(credentials);
    try {
      const u = await a.register();
      const admin = await a.admin();
      // The interleaving: the real credential check passes, then an admin's deactivation commits, then the socket starts.
      const hook = jest.spyOn(credentials, 'authenticate').mockImplementationOnce(async (token: string) => {
        const identity = await authenticate(token);
        const res = await a.request('PATCH', `/api/admin/users/${u.id}`, { token: admin.access_token, body: { is_active: false } });
        expect(res.status).toBe(200);
        return identity;
      });
      const client = await LiveClient.connect(c.url);
      client.send({ type: 'auth', access_token: u.access_token });
      // Before: open (and pushed nothing) until the revalidation, 10 min here, 30 s by default.
      const closed = await Promise.race([client.closed, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
      expect(closed).toEqual({ code: 4003, reason: 'revoked' });
      expect(hook).toHaveBeenCalledTimes(1);
      expect(client.messages.filter((m) => m.type === 'authenticated')).toEqual([]);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('accepts a personal access token and closes the socket when the token is revoked', async () => {
    const u = await a.register();
    await subscribe(a, u, 'enterprise');
    const created = await a.request<{ id: string; token: string }>('POST', '/api/users/me/tokens', { token: u.access_token, body: { name: 'ws', scope: 'read' } });
    expect(created.status).toBe(201);
    const c = await LiveClient.connect(b.url, created.body.token);
    const bot = (await createBot(a, u)).body as { id: string };
    await c.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    expect((await a.request('DELETE', `/api/users/me/tokens/${created.body.id}`, { token: u.access_token })).status).toBe(204);
    expect(await c.closed).toEqual({ code: 4003, reason: 'revoked' });
  });
});
