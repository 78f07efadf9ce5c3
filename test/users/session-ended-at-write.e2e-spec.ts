import { sha256Hex } from '@torgovo/core';
import { PersonalTokensService } from '@torgovo/users';
import { WebhooksService } from '@torgovo/custom-bots';
import { createBot, subscribe } from '../custom-bots/support';
import { createTestApp, TestApp } from '../support/app';
import { pauseOnce } from '../support/pause-once';

/**
 * A lasting credential (a personal token, a webhook secret) is minted only by a login session still live
 * at the write: "the request passes the guard (A), then the session ends — logout, or a refresh-token
 * reuse detected (B), then the write (A's effect)" → 401 and nothing minted.
 */
describe('a session that ended after the guard mints nothing (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  const liveTokens = async (userId: string): Promise<number> =>
    ((await t.db.dataSource.query(`SELECT count(*)::int AS n FROM personal_access_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [userId])) as Array<{ n: number }>)[0].n;
  const webhooks = async (userId: string): Promise<number> =>
    ((await t.db.dataSource.query(`SELECT count(*)::int AS n FROM bot_webhooks WHERE user_id = $1`, [userId])) as Array<{ n: number }>)[0].n;

  it('a thief\'s token request is past the guard, then the owner\'s refresh reveals the reuse and ends the family, then the token is written: 401, no token', async () => {
    const v = await t.register();
    await subscribe(t, v, 'enterprise');
    const thief = await t.request<{ access_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: v.refresh_token }, headers: { 'user-agent': 'thief/1.0' } });
    expect(thief.status).toBe(200);
    const pause = pauseOnce(t.app.get(PersonalTokensService), 'create', 'before');
    try {
      const minting = t.request('POST', '/api/users/me/tokens', { token: thief.body.access_token, body: { name: 'kept', scope: 'trade' } });
      await pause.reached;
      expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: v.refresh_token } })).status).toBe(401);
      pause.release();
      const res = await minting;
      expect(res.status).toBe(401);
      expect(await liveTokens(v.id)).toBe(0);
    } finally {
      pause.release();
    }
  });

  it('generate is past the guard, then logout, then the secret is written: 401, no webhook; rotate the same', async () => {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    const bot = (await createBot(t, u)).body as { id: string };
    const pause = pauseOnce(t.app.get(WebhooksService), 'generate', 'before');
    try {
      const generating = t.request('POST', '/api/custom-bot/webhook/generate', { token: u.access_token, body: { bot_id: bot.id } });
      await pause.reached;
      expect((await t.request('POST', '/api/auth/logout', { token: u.access_token, body: { refresh_token: u.refresh_token } })).status).toBe(204);
      pause.release();
      expect((await generating).status).toBe(401);
      expect(await webhooks(u.id)).toBe(0);
    } finally {
      pause.release();
    }

    // Rotate: a webhook made by a live session, then a rotate past the guard, then logout, then the write.
    const login = await t.request<{ access_token: string; refresh_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(200);
    const again = login.body;
    const made = await t.request<{ id: string; webhook_secret: string }>('POST', '/api/custom-bot/webhook/generate', { token: again.access_token, body: { bot_id: bot.id } });
    expect(made.status).toBe(201);
    const rotating = pauseOnce(t.app.get(WebhooksService), 'rotate', 'before');
    try {
      const rotation = t.request('POST', `/api/custom-bot/webhooks/${made.body.id}/rotate`, { token: again.access_token });
      await rotating.reached;
      expect((await t.request('POST', '/api/auth/logout', { token: again.access_token, body: { refresh_token: again.refresh_token } })).status).toBe(204);
      rotating.release();
      expect((await rotation).status).toBe(401);
    } finally {
      rotating.release();
    }
    const [{ secret_hash }] = (await t.db.dataSource.query(`SELECT secret_hash FROM bot_webhooks WHERE id = $1`, [made.body.id])) as Array<{ secret_hash: string }>;
    expect(secret_hash).toBe(sha256Hex(made.body.webhook_secret)); // the rotation wrote nothing
  });

  it('a live session mints as before', async () => {
    const u = await t.register();
    await subscribe(t, u, 'enterprise');
    expect((await t.request('POST', '/api/users/me/tokens', { token: u.access_token, body: { name: 'ok', scope: 'read' } })).status).toBe(201);
    const bot = (await createBot(t, u)).body as { id: string };
    expect((await t.request('POST', '/api/custom-bot/webhook/generate', { token: u.access_token, body: { bot_id: bot.id } })).status).toBe(201);
  });
});
