import { EmailDispatcher, ExpiryNotices, Mailer, NotificationFanout, TelegramDispatcher, TelegramLinkPoller } from '@torgovo/notifications';
import { createBot, generateWebhook, sendAlert, subscribe, TestUser } from '../custom-bots/support';
import { FakeTelegramServer } from '../fakes/telegram/fake-telegram-server';
import { startSmtp } from '../fakes/smtp/local-smtp-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { whileHeld } from '../support/held-transaction';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Notifications end to end on real PostgreSQL: a Telegram chat linked through the fake Bot API,
// an order filled by the paper exchange told by e-mail (local SMTP) and Telegram, a kind turned
// off sending nothing, two workers sending once, and the expiry notice once per period.
describe('notifications: e-mail and Telegram', () => {
  let a: TestApp;
  let b: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const telegram = new FakeTelegramServer();

  beforeAll(async () => {
    smtp = await startSmtp();
    await telegram.start();
    const env = {
      ...WORKER_JOBS_BY_HAND,
      TRADING_MANAGER_ENABLED: 'true',
      EMAIL_DISPATCH_INTERVAL_SECONDS: '0',
      NOTIFICATION_FANOUT_INTERVAL_SECONDS: '0',
      EXPIRY_NOTICE_INTERVAL_SECONDS: '0',
      TELEGRAM_INTERVAL_SECONDS: '0',
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_URL: telegram.url,
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    };
    a = await createTestApp(env);
    // A second worker on the same database.
    b = await createTestApp({ ...env, DATABASE_URL: a.db.url, TRADING_MANAGER_ENABLED: 'false' });
  });
  afterAll(async () => {
    await b?.app.close();
    await a?.close();
    await telegram.stop();
    await new Promise<void>((resolve) => smtp?.server.close(() => resolve()));
  });

  /** Both workers run every job at the same moment. */
  async function runJobs(): Promise<void> {
    await Promise.all([a, b].map((t) => t.app.get(NotificationFanout).tick()));
    await Promise.all([a, b].flatMap((t) => [t.app.get(EmailDispatcher).tick(), t.app.get(TelegramDispatcher).tick()]));
  }

  async function filledOrder(t: TestApp, u: TestUser, secret: string, n: number): Promise<string> {
    const ts = new Date().toISOString();
    const res = await sendAlert(t, secret, { action: 'buy', ticker: 'BTCUSDT', price: '65000', quantity: '0.001', alert_id: `n-${n}-${ts}`, timestamp: ts, secret });
    expect(res.status).toBe(202);
    const orderId = (res.body as { order_id: string }).order_id;
    for (let i = 0; i < 200; i++) {
      const o = await t.request<{ status: string }>('GET', `/api/orders/${orderId}`, { token: u.access_token });
      if (o.body.status === 'filled') return orderId;
      await sleep(100);
    }
    throw new Error('order not filled');
  }

  async function linkTelegram(u: TestUser, chatId: number): Promise<void> {
    const link = await a.request<{ code: string; bot_username: string }>('POST', '/api/users/me/telegram/link', { token: u.access_token });
    expect(link.status).toBe(201);
    expect(link.body.bot_username).toBe('torgovo_test_bot');
    telegram.userWrites(chatId, `/start ${link.body.code}`);
    const linked = await Promise.all([a.app.get(TelegramLinkPoller).tick(), b.app.get(TelegramLinkPoller).tick()]);
    expect(linked.filter((n) => n === 1)).toHaveLength(1);
  }

  it('refuses a Telegram link on a plan without it, and validates preference patches', async () => {
    const u = await a.register();
    await subscribe(a, u, 'free');
    const res = await a.request<{ code: string }>('POST', '/api/users/me/telegram/link', { token: u.access_token });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('telegram_not_included');
    for (const body of [{}, { preferences: [] }, { preferences: [{ kind: 'nope', email: false }] }, { preferences: [{ kind: 'order_filled', email: 'no' }] }]) {
      const bad = await a.request('PATCH', '/api/users/me/notifications', { token: u.access_token, body });
      expect(bad.status).toBe(400);
    }
    const bad = await a.request('PATCH', '/api/users/me/notifications', { token: u.access_token, raw: '{"preferences":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    const settings = await a.request<{ preferences: Array<{ kind: string; email: boolean; telegram: boolean }>; telegram: { linked: boolean; available: boolean } }>(
      'GET',
      '/api/users/me/notifications',
      { token: u.access_token },
    );
    expect(settings.body.telegram).toEqual({ linked: false, available: false });
    expect(settings.body.preferences.every((p) => p.email && p.telegram)).toBe(true);
  });

  it('tells a filled order by e-mail and Telegram, once, across two workers; a kind turned off sends nothing', async () => {
    const u = await a.register();
    await subscribe(a, u, 'pro');
    await linkTelegram(u, 4242);
    const settings = await a.request<{ telegram: { linked: boolean } }>('GET', '/api/users/me/notifications', { token: u.access_token });
    expect(settings.body.telegram.linked).toBe(true);

    const bot = (await createBot(a, u)).body as { id: string };
    const hook = await generateWebhook(a, u, bot.id);
    const first = await filledOrder(a, u, hook.webhook_secret, 1);
    await runJobs();
    await runJobs();
    const toChat = telegram.sent.filter((m) => m.chat_id === '4242' && m.text.startsWith('Order filled'));
    expect(toChat).toHaveLength(1);
    expect(toChat[0].text).toContain(first);
    expect(smtp.mails.filter((m) => m.to.includes(u.email) && /Subject: Order filled/.test(m.raw))).toHaveLength(1);

    // Telegram off for filled orders: the next fill is e-mailed only.
    const patch = await a.request<{ preferences: Array<{ kind: string; telegram: boolean }> }>('PATCH', '/api/users/me/notifications', {
      token: u.access_token,
      body: { preferences: [{ kind: 'order_filled', telegram: false }] },
    });
    expect(patch.status).toBe(200);
    expect(patch.body.preferences.find((p) => p.kind === 'order_filled')?.telegram).toBe(false);
    const second = await filledOrder(a, u, hook.webhook_secret, 2);
    await runJobs();
    expect(telegram.sent.filter((m) => m.text.includes(second))).toHaveLength(0);
    expect(smtp.mails.filter((m) => m.to.includes(u.email) && m.raw.includes(second))).toHaveLength(1);
    const rows = (await a.db.dataSource.query(`SELECT channel, status, attempts FROM notification_outbox WHERE data->>'order_id' = $1`, [second])) as Array<{
      channel: string;
      status: string;
    }>;
    expect(rows).toEqual([{ channel: 'email', status: 'sent', attempts: 1 }]);
  });

  it('an erased account: its Telegram chat and preferences are deleted, and what was queued for it is sent nowhere', async () => {
    const u = await a.register();
    const admin = await a.admin();
    const ds = a.db.dataSource;
    await ds.query(`INSERT INTO telegram_links (user_id, chat_id, linked_at) VALUES ($1, 424242, now())`, [u.id]);
    await ds.query(`INSERT INTO notification_preferences (user_id, kind, channel, enabled) VALUES ($1, 'order_filled', 'email', true)`, [u.id]);
    const queued = (await ds.query(
      `INSERT INTO notification_outbox (user_id, channel, kind, dedupe_key, data) VALUES ($1, 'email', 'order_filled', $2, '{}'), ($1, 'telegram', 'order_filled', $2, '{}') RETURNING id`,
      [u.id, `erase-test:${u.id}`],
    )) as Array<{ id: string }>;
    const mailsBefore = smtp.mails.length;
    expect((await a.request('DELETE', `/api/admin/users/${u.id}`, { token: admin.access_token })).status).toBe(204);
    expect(await ds.query(`SELECT 1 FROM telegram_links WHERE user_id = $1 UNION ALL SELECT 1 FROM notification_preferences WHERE user_id = $1`, [u.id])).toEqual([]);
    await runJobs();
    // Before: the e-mail went to erased-<id>@erased.invalid (and was retried), the chat id stayed.
    const rows = (await ds.query(`SELECT status, last_error FROM notification_outbox WHERE id = ANY($1::uuid[])`, [queued.map((q) => q.id)])) as Array<{ status: string; last_error: string }>;
    expect(rows).toEqual([
      { status: 'failed', last_error: 'no_recipient' },
      { status: 'failed', last_error: 'no_recipient' },
    ]);
    expect(smtp.mails.slice(mailsBefore).filter((m) => m.to.includes(`erased-${u.id}`))).toEqual([]);
  });

  it('an account erased while its e-mails are being sent: nothing more goes to its address after the erasure commits', async () => {
    const u = await a.register();
    const admin = await a.admin();
    const ds = a.db.dataSource;
    const queued = (await ds.query(
      `INSERT INTO notification_outbox (user_id, channel, kind, dedupe_key, data, created_at, next_attempt_at)
       VALUES ($1, 'email', 'order_filled', $2, '{}', now() - interval '2 seconds', now() - interval '2 seconds'),
              ($1, 'email', 'order_filled', $3, '{}', now() - interval '1 second', now() - interval '1 second') RETURNING id`,
      [u.id, `erase-mid:${u.id}:1`, `erase-mid:${u.id}:2`],
    )) as Array<{ id: string }>;
    const mailer = a.app.get(Mailer);
    const send = mailer.send.bind(mailer);
    let erasing: Promise<{ status: number }> | undefined;
    // The interleaving: the batch has read the address; during the first send the admin erases the account.
    jest.spyOn(mailer, 'send').mockImplementation(async (mail: Parameters<Mailer['send']>[0]) => {
      if (!erasing && mail.to === u.email) {
        erasing = a.request('DELETE', `/api/admin/users/${u.id}`, { token: admin.access_token });
        // Until the erasure commits, or (it waits for this send) a moment.
        for (let i = 0; i < 30; i++) {
          const [row] = (await ds.query(`SELECT erased_at FROM users WHERE id = $1`, [u.id])) as Array<{ erased_at: Date | null }>;
          if (row.erased_at) break;
          await sleep(50);
        }
      }
      return send(mail);
    });
    const mailsBefore = smtp.mails.length;
    try {
      await a.app.get(EmailDispatcher).tick();
    } finally {
      jest.restoreAllMocks();
    }
    expect((await erasing)?.status).toBe(204);
    // Before: the second e-mail, queued for the same batch, still went to the erased person's address.
    expect(smtp.mails.slice(mailsBefore).filter((m) => m.to.includes(u.email))).toHaveLength(1);
    const rows = (await ds.query(`SELECT status, last_error FROM notification_outbox WHERE id = ANY($1::uuid[]) ORDER BY created_at`, [queued.map((q) => q.id)])) as Array<{ status: string; last_error: string | null }>;
    expect(rows).toEqual([
      { status: 'sent', last_error: null },
      { status: 'failed', last_error: 'no_recipient' },
    ]);
  });

  it('a Telegram code or a preference change under way when the account is erased: refused, nothing written after the erasure', async () => {
    const u = await a.register();
    await subscribe(a, u, 'pro');
    const ds = a.db.dataSource;
    // The erasure's transaction (it deletes the link and the preferences), committing while the requests are under way.
    const answers = await whileHeld(
      ds,
      [
        [`UPDATE users SET is_active = false, erased_at = now(), email = $2 WHERE id = $1`, [u.id, `erased-${u.id}@erased.invalid`]],
        [`DELETE FROM telegram_links WHERE user_id = $1`, [u.id]],
        [`DELETE FROM notification_preferences WHERE user_id = $1`, [u.id]],
      ],
      () =>
        Promise.all([
          a.request('POST', '/api/users/me/telegram/link', { token: u.access_token }),
          a.request('PATCH', '/api/users/me/notifications', { token: u.access_token, body: { preferences: [{ kind: 'order_filled', email: false }] } }),
        ]),
    );
    // Before: 201 and 200, a code row (for a chat to bind) and a preference stored for the erased account.
    expect(answers.map((r) => r.status)).toEqual([401, 401]);
    expect(await ds.query(`SELECT 1 FROM telegram_links WHERE user_id = $1 UNION ALL SELECT 1 FROM notification_preferences WHERE user_id = $1`, [u.id])).toEqual([]);
  });

  it('retries a failed Telegram send with backoff and records the error', async () => {
    const u = await a.register();
    await subscribe(a, u, 'pro');
    await linkTelegram(u, 5151);
    const bot = (await createBot(a, u)).body as { id: string };
    const hook = await generateWebhook(a, u, bot.id);
    telegram.failNextSends = 1;
    const order = await filledOrder(a, u, hook.webhook_secret, 3);
    await runJobs();
    const [row] = (await a.db.dataSource.query(`SELECT status, attempts, last_error FROM notification_outbox WHERE channel = 'telegram' AND data->>'order_id' = $1`, [
      order,
    ])) as Array<{ status: string; attempts: number; last_error: string }>;
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toContain('502');
    expect(row.last_error).not.toContain(telegram.token);
    // Due again after the backoff: sent once.
    await a.app.get(TelegramDispatcher).tick(new Date(Date.now() + 10 * 60_000));
    expect(telegram.sent.filter((m) => m.text.includes(order))).toHaveLength(1);
  });

  it('sends "ends in 3 days" once per subscription period, whichever worker runs it', async () => {
    const u = await a.register();
    const subId = await subscribe(a, u, 'pro');
    const end = new Date(Date.now() + 2 * 86_400_000);
    await a.db.dataSource.query(`UPDATE user_subscriptions SET end_date = $2, auto_renew = false WHERE id = $1`, [subId, end]);
    const counts = await Promise.all([a, b].map((t) => t.app.get(ExpiryNotices).run(new Date())));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(1);
    expect(await a.app.get(ExpiryNotices).run(new Date())).toBe(0);
    await runJobs();
    expect(smtp.mails.filter((m) => m.to.includes(u.email) && /Subject: Your Pro subscription ends/.test(m.raw))).toHaveLength(1);
  });
});
