import { LiveSnapshots } from '@torgovo/live-updates';
import { JwtService } from '@nestjs/jwt';
import { SocketCredentials } from '@torgovo/users';
import { createBot, subscribe } from '../custom-bots/support';
import { pauseOnce } from '../support/pause-once';
import { createTestApp, TestApp } from '../support/app';
import { LiveClient, LiveMessage } from '../support/ws-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Closed within `ms`, or null while still open. */
async function closedWithin(c: LiveClient, ms = 5_000): Promise<{ code: number; reason: string } | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([c.closed, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } finally {
    clearTimeout(timer); // no timer left behind to keep the test process alive
  }
}

const REVOKED = { code: 4003, reason: 'revoked' };
const EXPIRED = { code: 4004, reason: 'token_expired' };

// A socket's credential is checked when something is sent on it (each delivery, each replay batch),
// not only when it started and by the periodic revalidation: that runs every 10 min here (30 s by
// default), so whatever closes these sockets is the check at the moment of sending. Each test is the
// interleaving: the socket authenticated (A), then its credential ends (B), then something is sent (A's effect).
describe('live updates: a credential that ended gets nothing more', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ WS_POLL_INTERVAL_MS: '200', WS_REVALIDATE_SECONDS: '600' });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  async function enterpriseWithToken() {
    const u = await t.register();
    const subId = await subscribe(t, u, 'enterprise');
    const created = await t.request<{ id: string; token: string }>('POST', '/api/users/me/tokens', { token: u.access_token, body: { name: 'ws', scope: 'read' } });
    expect(created.status).toBe(201);
    return { u, subId, pat: created.body };
  }

  const botStopped = (id: string) => (m: LiveMessage) => m.type === 'bot.updated' && m.data?.id === id && m.data?.status === 'stopped';

  it('a personal token revoked: the next event closes the socket (revoked) and is not sent', async () => {
    const { u, pat } = await enterpriseWithToken();
    const ws = await LiveClient.connect(t.url, pat.token);
    const bot = (await createBot(t, u)).body as { id: string };
    await ws.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    expect((await t.request('DELETE', `/api/users/me/tokens/${pat.id}`, { token: u.access_token })).status).toBe(204);
    expect((await t.request('GET', '/api/bots', { token: pat.token })).status).toBe(401);
    expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: u.access_token })).status).toBe(200);
    expect(await closedWithin(ws)).toEqual(REVOKED);
    expect(ws.messages.filter(botStopped(bot.id))).toEqual([]);
  });

  it('an event is read, then its snapshot is being loaded, then the token is revoked and the bot renamed: the state read after the revocation is not sent (the check follows the read)', async () => {
    const { u, pat } = await enterpriseWithToken();
    const ws = await LiveClient.connect(t.url, pat.token);
    const bot = (await createBot(t, u)).body as { id: string };
    await ws.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    const pause = pauseOnce(t.app.get(LiveSnapshots), 'load', 'before');
    try {
      // A: the stop's event is read by the gateway, its snapshot about to be loaded.
      expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: u.access_token })).status).toBe(200);
      await pause.reached;
      // B: the token is revoked, then the bot renamed (a state that exists only after the revocation).
      expect((await t.request('DELETE', `/api/users/me/tokens/${pat.id}`, { token: u.access_token })).status).toBe(204);
      expect((await t.request('PATCH', `/api/bots/${bot.id}`, { token: u.access_token, body: { name: 'renamed-after-revocation' } })).status).toBe(200);
      pause.release();
      // A's effect: nothing from that read is sent; the socket is closed.
      expect(await closedWithin(ws)).toEqual(REVOKED);
      expect(ws.messages.filter(botStopped(bot.id))).toEqual([]);
      expect(ws.messages.some((m) => m.data?.name === 'renamed-after-revocation')).toBe(false);
    } finally {
      pause.release();
    }
  });

  it('the plan lost API access (Enterprise cancelled): the subscription change is not sent, the socket is closed', async () => {
    const { u, subId, pat } = await enterpriseWithToken();
    const ws = await LiveClient.connect(t.url, pat.token);
    expect((await t.request('DELETE', `/api/subscriptions/${subId}`, { token: u.access_token })).status).toBe(200);
    const rest = await t.request<{ code: string }>('GET', '/api/bots', { token: pat.token });
    expect(rest.status).toBe(403);
    expect(rest.body.code).toBe('api_access_not_included');
    expect(await closedWithin(ws)).toEqual(REVOKED);
    expect(ws.messages.filter((m) => m.type === 'subscription.updated')).toEqual([]);
  });

  it('an access token that expired: the next event closes the socket (token_expired) and is not sent', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const short = await t.app.get(JwtService).signAsync({ sub: u.id, email: u.email, role: 'user' }, { expiresIn: 2 });
    const ws = await LiveClient.connect(t.url, short);
    await sleep(3_000);
    expect((await t.request('GET', '/api/bots', { token: short })).status).toBe(401);
    const bot = (await createBot(t, u)).body as { id: string };
    expect(await closedWithin(ws)).toEqual(EXPIRED);
    expect(ws.messages.filter((m) => m.type === 'bot.updated' && m.data?.id === bot.id)).toEqual([]);
  });

  it('logout ends that session\'s socket at the next event; a socket of another session of the same user keeps receiving', async () => {
    const u = await t.register();
    await subscribe(t, u, 'free');
    const other = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect(other.status).toBe(200);
    const loggedOut = await LiveClient.connect(t.url, u.access_token);
    const kept = await LiveClient.connect(t.url, other.body.access_token);
    expect((await t.request('POST', '/api/auth/logout', { token: u.access_token, body: { refresh_token: u.refresh_token } })).status).toBe(204);
    const bot = (await createBot(t, { id: u.id, access_token: other.body.access_token })).body as { id: string };
    expect(await kept.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id)).toBeTruthy();
    expect(await closedWithin(loggedOut)).toEqual(REVOKED);
    expect(loggedOut.messages.filter((m) => m.type === 'bot.updated' && m.data?.id === bot.id)).toEqual([]);
    kept.close();
  });

  it('a resume after the token was revoked replays nothing and closes the socket', async () => {
    const { u, pat } = await enterpriseWithToken();
    const ws = await LiveClient.connect(t.url, pat.token);
    const bot = (await createBot(t, u)).body as { id: string };
    const first = await ws.next((m) => m.type === 'bot.updated' && m.data?.id === bot.id);
    expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: u.access_token })).status).toBe(200);
    await ws.next(botStopped(bot.id));
    const received = ws.messages.length;
    expect((await t.request('DELETE', `/api/users/me/tokens/${pat.id}`, { token: u.access_token })).status).toBe(204);
    // The client asks for the events after the first one again (the stop): a replay is a send too.
    ws.send({ type: 'resume', cursor: first.cursor });
    expect(await closedWithin(ws)).toEqual(REVOKED);
    expect(ws.messages.slice(received)).toEqual([]);
  });

  it('a personal token revoked between the credential check and the socket\'s start: closed, never authenticated', async () => {
    const { u, pat } = await enterpriseWithToken();
    const credentials = t.app.get(SocketCredentials);
    const authenticate = credentials.authenticate.bind(credentials);
    const hook = jest.spyOn(credentials, 'authenticate').mockImplementationOnce(async (token: string) => {
      const identity = await authenticate(token);
      expect((await t.request('DELETE', `/api/users/me/tokens/${pat.id}`, { token: u.access_token })).status).toBe(204);
      return identity;
    });
    const ws = await LiveClient.connect(t.url);
    ws.send({ type: 'auth', access_token: pat.token });
    expect(await closedWithin(ws, 3_000)).toEqual(REVOKED);
    expect(hook).toHaveBeenCalledTimes(1);
    expect(ws.messages.filter((m) => m.type === 'authenticated')).toEqual([]);
  });
});
