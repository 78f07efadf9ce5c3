import { TelegramClient, TelegramLinkPoller } from '@torgovo/notifications';
import { subscribe } from '../custom-bots/support';
import { FakeTelegramServer } from '../fakes/telegram/fake-telegram-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { runCli } from '../support/cli';
import { whileHeld } from '../support/held-transaction';
import { pauseOnce } from '../support/pause-once';

// A Telegram link code binds a chat only for an account active at the moment of binding (the bind
// statement checks it, the user row share-locked), and a deactivation voids the pending code (so a
// quick reactivation does not bring it back). Real PostgreSQL, the fake Bot API, the poller by hand.
describe('Telegram link codes and deactivation', () => {
  let t: TestApp;
  const telegram = new FakeTelegramServer();
  let nextChat = 880_001;

  beforeAll(async () => {
    await telegram.start();
    t = await createTestApp({
      ...WORKER_JOBS_BY_HAND,
      LOG_LEVEL: 'warn',
      TELEGRAM_INTERVAL_SECONDS: '0',
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_URL: telegram.url,
    });
  });
  afterAll(async () => {
    await t?.close();
    await telegram.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  async function proUserWithCode(): Promise<{ u: Awaited<ReturnType<TestApp['register']>>; code: string }> {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    const link = await t.request<{ code: string }>('POST', '/api/users/me/telegram/link', { token: u.access_token });
    expect(link.status).toBe(201);
    return { u, code: link.body.code };
  }

  async function setActive(userId: string, is_active: boolean): Promise<void> {
    const root = await t.admin();
    expect((await t.request('PATCH', `/api/admin/users/${userId}`, { token: root.access_token, body: { is_active } })).status).toBe(200);
  }

  async function linkRow(userId: string): Promise<{ chat_id: string | null; pending: boolean } | undefined> {
    const [row] = (await t.db.dataSource.query(`SELECT chat_id::text AS chat_id, code_hash IS NOT NULL AS pending FROM telegram_links WHERE user_id = $1`, [userId])) as Array<{
      chat_id: string | null;
      pending: boolean;
    }>;
    return row;
  }

  /** What the chat was told: an invalid code gets no answer; a linked chat gets "Linked: …". */
  const toldChat = (chat: number) => telegram.sent.filter((m) => m.chat_id === String(chat));

  it('an active account: its code links the chat (and the chat is told)', async () => {
    const { u, code } = await proUserWithCode();
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    expect(await t.app.get(TelegramLinkPoller).tick()).toBe(1);
    expect(await linkRow(u.id)).toEqual({ chat_id: String(chat), pending: false });
    expect(toldChat(chat).map((m) => m.text)).toEqual(['Linked: Torgovo notifications will arrive in this chat.']);
  });

  it('code issued, then the account is deactivated, then the chat sends the code: not linked, answered as an invalid code', async () => {
    const { u, code } = await proUserWithCode();
    await setActive(u.id, false);
    // The deactivation voided the code in its transaction. Before: still pending, and the poller linked it.
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: false });
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    expect(await t.app.get(TelegramLinkPoller).tick()).toBe(0);
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: false });
    expect(toldChat(chat)).toEqual([]);
  });

  it('code issued, deactivated, reactivated, then the code is sent: not linked (the deactivation voided it)', async () => {
    const { u, code } = await proUserWithCode();
    await setActive(u.id, false);
    await setActive(u.id, true);
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    // Before: 1, the chat linked to the reactivated account from a code issued before its deactivation.
    expect(await t.app.get(TelegramLinkPoller).tick()).toBe(0);
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: false });
    expect(toldChat(chat)).toEqual([]);
    // A code issued after the reactivation links as usual.
    const login = await t.request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(200);
    const again = await t.request<{ code: string }>('POST', '/api/users/me/telegram/link', { token: login.body.access_token });
    expect(again.status).toBe(201);
    telegram.userWrites(chat, again.body.code);
    expect(await t.app.get(TelegramLinkPoller).tick()).toBe(1);
    expect(await linkRow(u.id)).toEqual({ chat_id: String(chat), pending: false });
  });

  it('the poller has read the code, then the account is deactivated, then it binds: not linked', async () => {
    const { u, code } = await proUserWithCode();
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    const read = pauseOnce(t.app.get(TelegramClient), 'getUpdates');
    const tick = t.app.get(TelegramLinkPoller).tick();
    try {
      await read.reached; // A: the update with the code is in hand
      await setActive(u.id, false); // B: the deactivation commits
    } finally {
      read.release(); // A's effect: the bind
    }
    // Before: 1, the deactivated account's chat linked.
    expect(await tick).toBe(0);
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: false });
    expect(toldChat(chat)).toEqual([]);
  });

  it('a deactivation committing while the bind runs, one that leaves the code in place: the bind waits for it and links nothing', async () => {
    // The bind's own check, not the voided code: a deactivation that did not void the code (an api
    // replica still on the previous version during a rolling deploy, say) is seen by the bind itself.
    const { u, code } = await proUserWithCode();
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    const linked = await whileHeld(t.db.dataSource, [[`UPDATE users SET is_active = false WHERE id = $1`, [u.id]]], () => t.app.get(TelegramLinkPoller).tick());
    // Before: 1 (the bind read the account as active and linked it, the deactivation committing after).
    expect(linked).toBe(0);
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: true });
    expect(toldChat(chat)).toEqual([]);
  });

  it('`cli deactivate-user` then `cli activate-user`: the code issued before is void there too', async () => {
    const { u, code } = await proUserWithCode();
    expect((await runCli(t, ['deactivate-user', '--email', u.email])).stdout).toContain('is deactivated');
    expect((await runCli(t, ['activate-user', '--email', u.email])).stdout).toContain('is active');
    const chat = nextChat++;
    telegram.userWrites(chat, `/start ${code}`);
    // Before: 1 (the CLI did not load the notifications module, so nothing voided the code).
    expect(await t.app.get(TelegramLinkPoller).tick()).toBe(0);
    expect(await linkRow(u.id)).toEqual({ chat_id: null, pending: false });
  });
});
