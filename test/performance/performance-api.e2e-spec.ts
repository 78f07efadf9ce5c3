import { TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { generateWebhook, sendAlert, subscribe, TestUser } from '../custom-bots/support';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

/**
 * GET /bots/{id}/performance, GET /performance and GET /paper/balances on paper bots traded through
 * the real path: TradingView alert → webhook → order row → TradingManager → paper exchange. The paper
 * exchange charges 0.1 % in the currency received: a buy's fee is in BTC (worth fee × price), a sell's in
 * USDT. Buy prices are chosen so that the cost per BTC received is round: price / 0.999.
 */
describe('performance and paper balances (e2e, webhook → executor → paper exchange)', () => {
  const TZ = 'Asia/Karachi';
  let t: TestApp;
  let ds: DataSource;
  let manager: TradingManager;
  let u1: TestUser;
  let u2: TestUser;
  let btcBot: string;
  let ethBot: string;

  const get = (path: string, user: TestUser) => t.request<Record<string, unknown>>('GET', path, { token: user.access_token });

  async function paperBot(user: TestUser, symbol: string): Promise<{ id: string; alert: (body: Record<string, unknown>) => Promise<string> }> {
    const created = await t.request('POST', '/api/bots', {
      token: user.access_token,
      body: { name: symbol, symbol, mode: 'paper', order_type: 'market', sizing: { type: 'base', value: '0.1' } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const hook = await generateWebhook(t, user, id);
    let n = 0;
    return {
      id,
      alert: async (body) => {
        const res = await sendAlert(t, hook.webhook_secret, { ticker: symbol.replace('/', ''), alert_id: `p${++n}-${Date.now()}`, ...body });
        expect(res.status).toBe(202);
        const orderId = res.body.order_id as string;
        await manager.runUntilIdle();
        return orderId;
      },
    };
  }

  async function status(orderId: string): Promise<string> {
    const [row] = (await ds.query(`SELECT status FROM orders WHERE id = $1`, [orderId])) as Array<{ status: string }>;
    return row.status;
  }

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, APP_TIMEZONE: TZ });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
    u1 = await t.register();
    u2 = await t.register();
    await subscribe(t, u1, 'pro');
    await subscribe(t, u2, 'free');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a new user: empty figures, the starting paper balance, and nothing written by reading it', async () => {
    const perf = await get('/api/performance', u2);
    expect(perf.status).toBe(200);
    expect(perf.body).toMatchObject({ mode: 'paper', realised_pnl: '0', trades: 0, win_rate: null, max_drawdown: '0', positions: [], books: [], daily: [] });
    const balances = await get('/api/paper/balances', u2);
    expect(balances.status).toBe(200);
    expect(balances.body).toEqual([{ currency: 'USDT', free: '10000', reserved: '0' }]);
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM paper_accounts WHERE user_id = $1`, [u2.id])) as Array<{ n: number }>;
    expect(n).toBe(0);
  });

  it('a paper bot opens its account when created; trading, then a stop and a start, never seeds it again', async () => {
    const u3 = await t.register();
    await subscribe(t, u3, 'free');
    const rows = async () =>
      (await ds.query(`SELECT b.currency, b.free::text, b.used::text FROM paper_accounts a JOIN paper_balances b USING (user_id) WHERE a.user_id = $1 ORDER BY 1`, [
        u3.id,
      ])) as Array<{ currency: string; free: string; used: string }>;
    const bot = await paperBot(u3, 'BTC/USDT');
    // Before any alert: the account with its starting balance, and a row for each of the bot's currencies.
    expect(await rows()).toEqual([
      { currency: 'BTC', free: '0.000000000000000000', used: '0.000000000000000000' },
      { currency: 'USDT', free: '10000.000000000000000000', used: '0.000000000000000000' },
    ]);
    expect((await get('/api/paper/balances', u3)).body).toEqual([{ currency: 'USDT', free: '10000', reserved: '0' }]);
    // A bot made before accounts were opened with it has none: starting it opens one.
    const opened = await rows();
    expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: u3.access_token })).status).toBe(200);
    await ds.query(`DELETE FROM paper_accounts WHERE user_id = $1`, [u3.id]);
    expect(await rows()).toEqual([]);
    expect((await t.request('POST', `/api/bots/${bot.id}/start`, { token: u3.access_token })).status).toBe(200);
    expect(await rows()).toEqual(opened);

    // Buy 0.1 @ 30000: pays 3000 USDT, fee 0.0001 BTC.
    expect(await status(await bot.alert({ action: 'buy', quantity: '0.1', price: '30000' }))).toBe('filled');
    const traded = [
      { currency: 'BTC', free: '0.0999', reserved: '0' },
      { currency: 'USDT', free: '7000', reserved: '0' },
    ];
    expect((await get('/api/paper/balances', u3)).body).toEqual(traded);
    // Stopped and started again: the open is idempotent, the traded balances stay.
    expect((await t.request('POST', `/api/bots/${bot.id}/stop`, { token: u3.access_token })).status).toBe(200);
    expect((await t.request('POST', `/api/bots/${bot.id}/start`, { token: u3.access_token })).status).toBe(200);
    expect((await get('/api/paper/balances', u3)).body).toEqual(traded);
    expect(await status(await bot.alert({ action: 'sell', quantity: '0.0999', price: '30000' }))).toBe('filled');
    const [{ accounts }] = (await ds.query(`SELECT count(*)::int AS accounts FROM paper_accounts WHERE user_id = $1`, [u3.id])) as Array<{ accounts: number }>;
    expect(accounts).toBe(1);
  });

  it('a BTC bot: two buys, a winning and a losing sell, checked by hand', async () => {
    const bot = await paperBot(u1, 'BTC/USDT');
    btcBot = bot.id;
    const before = await get(`/api/bots/${btcBot}/performance`, u1);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      bot_id: btcBot,
      mode: 'paper',
      quote_currency: 'USDT',
      position: { symbol: 'BTC/USDT', amount: '0', average_entry: null, last_price: null, unrealised_pnl: '0' },
      realised_pnl: '0',
      fills: 0,
    });

    // B1 buy 0.2 @ 29970: pays 5994 USDT, fee 0.0002 BTC (= 5.994 USDT) → lot 0.1998 BTC at 5994 / 0.1998 = 30000.
    expect(await status(await bot.alert({ action: 'buy', quantity: '0.2', price: '29970' }))).toBe('filled');
    // B2 buy 0.1 @ 30269.7: pays 3026.97, fee 0.0001 BTC (= 3.02697) → lot 0.0999 at 30300.
    expect(await status(await bot.alert({ action: 'buy', quantity: '0.1', price: '30269.7' }))).toBe('filled');
    let perf = await get(`/api/bots/${btcBot}/performance`, u1);
    // Held 0.2997 at (0.1998 × 30000 + 0.0999 × 30300) / 0.2997 = 30100; last fill 30269.7 → 0.2997 × 169.7 = 50.85909.
    expect(perf.body).toMatchObject({
      position: { symbol: 'BTC/USDT', amount: '0.2997', average_entry: '30100', last_price: '30269.7', unrealised_pnl: '50.85909' },
      realised_pnl: '0',
      fees: '9.02097',
      trades: 0,
      win_rate: null,
    });

    // B3 sell 0.2 @ 33000: brings 6600 − 6.6 fee = 6593.4 (32967 per BTC). FIFO: 0.1998 of the 30000 lot → 0.1998 × 2967 = 592.8066;
    //    0.0002 of the 30300 lot → 0.0002 × 2667 = 0.5334. Trade: +593.34.
    expect(await status(await bot.alert({ action: 'sell', quantity: '0.2', price: '33000' }))).toBe('filled');
    perf = await get(`/api/bots/${btcBot}/performance`, u1);
    // Left 0.0997 at 30300; last 33000 → 0.0997 × 2700 = 269.19.
    expect(perf.body).toMatchObject({
      position: { amount: '0.0997', average_entry: '30300', last_price: '33000', unrealised_pnl: '269.19' },
      realised_pnl: '593.34',
      trades: 1,
      wins: 1,
      win_rate: '1',
      max_drawdown: '0',
    });

    // B4 sell 0.0997 @ 29000: brings 2891.3 − 2.8913 = 2888.4087 (28971 per BTC) → 0.0997 × (28971 − 30300) = −132.5013.
    expect(await status(await bot.alert({ action: 'sell', quantity: '0.0997', price: '29000' }))).toBe('filled');
    perf = await get(`/api/bots/${btcBot}/performance`, u1);
    const [{ day }] = (await ds.query(`SELECT to_char(max(closed_at) AT TIME ZONE $2, 'YYYY-MM-DD') AS day FROM orders WHERE bot_id = $1`, [btcBot, TZ])) as Array<{ day: string }>;
    expect(perf.body).toEqual({
      bot_id: btcBot,
      mode: 'paper',
      quote_currency: 'USDT',
      position: { symbol: 'BTC/USDT', amount: '0', average_entry: null, last_price: '29000', unrealised_pnl: '0' },
      positions: [{ symbol: 'BTC/USDT', amount: '0', average_entry: null, last_price: '29000', unrealised_pnl: '0' }],
      // 593.34 − 132.5013
      realised_pnl: '460.8387',
      unrealised_pnl: '0',
      // 5.994 + 3.02697 + 6.6 + 2.8913
      fees: '18.51227',
      // 5994 + 3026.97 + 6600 + 2891.3
      volume: '18512.27',
      fills: 4,
      trades: 2,
      wins: 1,
      win_rate: '0.5',
      // cumulative 593.34 then 460.8387
      max_drawdown: '132.5013',
      daily: [{ day, realised_pnl: '460.8387', volume: '18512.27' }],
    });
    // The paper account agrees: 10000 + 460.8387 USDT, no BTC left.
    expect((await get('/api/paper/balances', u1)).body).toEqual([{ currency: 'USDT', free: '10460.8387', reserved: '0' }]);
  });

  it('the account sums both bots; a resting limit order shows as reserved, not as a fill', async () => {
    const bot = await paperBot(u1, 'ETH/USDT');
    ethBot = bot.id;
    // E1 buy 1 @ 1998: fee 0.001 ETH (= 1.998) → 0.999 ETH at 2000. E2 sell 0.999 @ 2100: 2097.9 − 2.0979 = 2095.8021 → 0.999 × 97.9 = 97.8021.
    await bot.alert({ action: 'buy', quantity: '1', price: '1998' });
    await bot.alert({ action: 'sell', quantity: '0.999', price: '2100' });
    // A limit buy of 0.1 ETH at 1000, under the last price (2100): rests, reserving 100 USDT.
    const resting = await bot.alert({ action: 'buy', quantity: '0.1', price: '1000', order_type: 'limit' });
    expect(await status(resting)).toBe('open');

    const eth = await get(`/api/bots/${ethBot}/performance`, u1);
    expect(eth.body).toMatchObject({ realised_pnl: '97.8021', fees: '4.0959', fills: 2, trades: 1, win_rate: '1' });

    const perf = await get('/api/performance', u1);
    expect(perf.status).toBe(200);
    expect(perf.body).toMatchObject({
      mode: 'paper',
      quote_currency: 'USDT',
      // 460.8387 + 97.8021
      realised_pnl: '558.6408',
      fees: '22.60817',
      fills: 6,
      trades: 3,
      wins: 2,
      win_rate: '0.6667',
      // curve 593.34, 460.8387, 558.6408
      max_drawdown: '132.5013',
      position: { unrealised_pnl: '0' },
      positions: [],
    });
    expect(perf.body.books).toEqual(
      expect.arrayContaining([
        { bot_id: btcBot, managed_bot_id: null, realised_pnl: '460.8387', unrealised_pnl: '0', fees: '18.51227', trades: 2, win_rate: '0.5' },
        { bot_id: ethBot, managed_bot_id: null, realised_pnl: '97.8021', unrealised_pnl: '0', fees: '4.0959', trades: 1, win_rate: '1' },
      ]),
    );
    // 10460.8387 − 1998 + 2095.8021 = 10558.6408, of which 100 reserved by the resting limit; ETH: 1 − 0.001 − 0.999 = 0.
    expect((await get('/api/paper/balances', u1)).body).toEqual([{ currency: 'USDT', free: '10458.6408', reserved: '100' }]);
    // Live has no fill: asked for explicitly, it is empty.
    expect((await get('/api/performance?mode=live', u1)).body).toMatchObject({ mode: 'live', realised_pnl: '0', fills: 0, books: [] });
  });

  it("another user's bot is 404 and their figures never leak into mine", async () => {
    const res = await get(`/api/bots/${btcBot}/performance`, u2);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found' });
    expect(res.text).not.toContain('realised_pnl');
    expect(res.text).not.toContain('460.8387');
    expect((await get('/api/bots/00000000-0000-4000-8000-000000000000/performance', u1)).status).toBe(404);
    expect((await get('/api/performance', u2)).body).toMatchObject({ realised_pnl: '0', books: [] });
    expect((await get('/api/paper/balances', u2)).body).toEqual([{ currency: 'USDT', free: '10000', reserved: '0' }]);
  });

  it('bad input is a clear 400; no token is 401', async () => {
    expect((await get('/api/bots/not-a-uuid/performance', u1)).status).toBe(400);
    const badMode = await get(`/api/bots/${btcBot}/performance?mode=real`, u1);
    expect(badMode.status).toBe(400);
    expect(JSON.stringify(badMode.body)).toContain('mode');
    expect((await get('/api/performance?mode=both', u1)).status).toBe(400);
    expect((await get('/api/performance?extra=1', u1)).status).toBe(400);
    expect((await t.request('GET', '/api/paper/balances')).status).toBe(401);
    expect((await t.request('GET', `/api/bots/${btcBot}/performance`)).status).toBe(401);
  });

  it('a deleted bot is 404, but its fills stay in the account figures', async () => {
    expect((await t.request('DELETE', `/api/bots/${ethBot}`, { token: u1.access_token })).status).toBe(204);
    expect((await get(`/api/bots/${ethBot}/performance`, u1)).status).toBe(404);
    expect((await get('/api/performance', u1)).body).toMatchObject({ realised_pnl: '558.6408', trades: 3 });
  });
});
