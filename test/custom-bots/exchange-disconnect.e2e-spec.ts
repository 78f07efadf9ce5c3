import type { TestApp } from '../support/app';
import { createBot, generateWebhook, LiveExchangeHarness, liveExchangeHarness, sendAlert, subscribe, TestUser } from './support';

describe('disconnecting the exchange stops live bots (e2e: real PostgreSQL, fake OKX)', () => {
  let h: LiveExchangeHarness;
  let t: TestApp;

  beforeAll(async () => {
    h = await liveExchangeHarness('disc');
    t = h.t;
  });
  afterAll(async () => {
    await h?.close();
  });

  const connect = (u: TestUser): Promise<void> => h.connect(u);
  const bot = async (u: TestUser, id: string) => (await t.request<{ status: string; stop_reason: string | null }>('GET', `/api/bots/${id}`, { token: u.access_token })).body;

  it("stops the user's running live bots with the reason, leaves paper bots and other users alone, and audits it", async () => {
    const [u, other] = [await t.register(), await t.register()];
    for (const x of [u, other]) {
      await subscribe(t, x, 'pro');
      await connect(x);
    }
    const live = (await createBot(t, u, { mode: 'live', name: 'live' })).body.id as string;
    const paper = (await createBot(t, u, { mode: 'paper', name: 'paper' })).body.id as string;
    const othersLive = (await createBot(t, other, { mode: 'live', name: 'theirs' })).body.id as string;
    const hook = await generateWebhook(t, u, live);

    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
    expect(await bot(u, live)).toMatchObject({ status: 'stopped', stop_reason: 'exchange_disconnected' });
    expect(await bot(u, paper)).toMatchObject({ status: 'running', stop_reason: null });
    expect(await bot(other, othersLive)).toMatchObject({ status: 'running' });

    // An alert for the stopped bot is refused with the reason and makes no order.
    const refused = await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', quantity: '0.001' });
    expect(refused.status).toBe(403);
    const orders = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM orders WHERE bot_id = $1`, [live])) as Array<{ n: number }>;
    expect(orders[0].n).toBe(0);

    const audit = (await t.db.dataSource.query(`SELECT data FROM audit_logs WHERE user_id = $1 AND event_type = 'exchange.disconnected'`, [u.id])) as Array<{ data: unknown }>;
    expect(audit).toEqual([{ data: { exchange: 'okx' } }]);

    // A second DELETE is a no-op (204), audits nothing more; reconnecting lets the bot start again.
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
    await connect(u);
    const started = await t.request('POST', `/api/bots/${live}/start`, { token: u.access_token });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: 'running', stop_reason: null });
  });
});
