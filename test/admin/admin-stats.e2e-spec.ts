import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { OrderStatsRollup, OrderStatsRollupJob } from '@torgovo/trading';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { planId, subscribe } from '../custom-bots/support';

const TZ = 'Asia/Karachi';

const PATHS = [
  '/api/admin/overview',
  '/api/admin/users/stats',
  '/api/admin/trading/stats',
  '/api/admin/revenue',
  '/api/admin/audit-logs',
  '/api/admin/subscriptions',
  '/api/admin/payments',
  '/api/admin/orders',
];

interface Overview {
  timezone: string;
  users: { total: number; active: number; new_this_month: number };
  bots: { running: number; stopped: number };
  orders: { total: number; today: number; unfinished: number; volume_usd: { live: string; paper: string } };
  revenue: { mrr_usd: string; mrr_by_plan: Array<{ plan: string; active_subscriptions: number; mrr_usd: string }>; this_month_usd: string; this_month_by_plan: unknown[] };
  subscriptions: Array<{ plan: string; status: string; subscriptions: number }>;
}

interface TradingStats {
  finished: number;
  by_day: Array<{ day: string; finished: number; filled: number; canceled: number; rejected: number; failed: number; volume_usd: string }>;
  top_symbols: Array<{ symbol: string; orders: number; quote_volume: string; volume_usd: string | null }>;
  reasons: Array<{ status: string; reason: string; orders: number; rate: string }>;
}

describe('admin figures and lists (/api/admin/*)', () => {
  let t: TestApp;
  let root: { id: string; access_token: string };
  let seq = 0;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, APP_TIMEZONE: TZ });
    root = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = <T>(path: string, token = root.access_token) => t.request<T>('GET', path, { token });

  /** An order row as the TradingManager leaves it; closed_at = now() unless given. */
  async function order(userId: string, o: { symbol: string; status: string; mode?: string; cost?: string; filled?: string; reason?: string; closedAt?: string | null; createdAt?: string }): Promise<string> {
    const n = ++seq;
    const final = ['filled', 'canceled', 'rejected', 'failed'].includes(o.status);
    const [{ id }] = (await t.db.dataSource.query(
      `INSERT INTO orders (user_id, source, source_ref, mode, exchange, symbol, side, type, amount, status, filled, cost, client_order_id, reason, created_at, closed_at)
       VALUES ($1, 'manual', $2, $3, $4, $5, 'buy', 'market', 1, $6, $7, $8, $9, $10, coalesce($11::timestamptz, now()),
               CASE WHEN $12::boolean THEN coalesce($13::timestamptz, now()) END)
       RETURNING id`,
      [
        userId, `stats-${n}`, o.mode ?? 'paper', o.mode === 'live' ? 'okx' : 'paper', o.symbol, o.status, o.filled ?? (o.status === 'filled' ? '1' : '0'),
        o.cost ?? null, `st${n}x${Date.now()}`.slice(0, 32), o.reason ?? null, o.createdAt ?? null, final, o.closedAt ?? null,
      ],
    )) as Array<{ id: string }>;
    return id;
  }

  it('a normal user gets 403 on every admin figure and list', async () => {
    const u = await t.register();
    for (const path of PATHS) {
      const res = await get(path, u.access_token);
      expect([path, res.status]).toEqual([path, 403]);
    }
    for (const path of PATHS) expect([path, (await t.request('GET', path)).status]).toEqual([path, 401]);
  });

  it('bad query parameters are 400 on every path', async () => {
    const bad: Array<[string, string]> = [
      ['/api/admin/overview', 'x=1'],
      ['/api/admin/users/stats', 'from=2026-13-01'],
      ['/api/admin/users/stats', 'from=2026-02-31'],
      ['/api/admin/users/stats', 'from=2026-11-10&to=2026-11-01'],
      ['/api/admin/users/stats', 'from=2024-01-01&to=2026-01-01'],
      // No year 0 in PostgreSQL: these passed the checks, then failed the query (500).
      ['/api/admin/users/stats', 'from=0000-01-01&to=0000-01-02'],
      ['/api/admin/trading/stats', 'from=0000-01-01&to=0000-01-31'],
      ['/api/admin/revenue', 'from=0000-01&to=0000-02'],
      ['/api/admin/trading/stats', 'mode=demo'],
      ['/api/admin/trading/stats', 'to=yesterday'],
      ['/api/admin/revenue', 'from=2026-1'],
      ['/api/admin/revenue', 'from=2026-11&to=2026-01'],
      ['/api/admin/revenue', 'from=2020-01&to=2026-01'],
      ['/api/admin/audit-logs', 'user_id=nope'],
      ['/api/admin/audit-logs', 'from=last-week'],
      ['/api/admin/audit-logs', 'event_type=DROP%20TABLE'],
      ['/api/admin/audit-logs', 'page=51&limit=200'],
      ['/api/admin/subscriptions', 'status=paused'],
      ['/api/admin/subscriptions', 'plan_type=spot'],
      ['/api/admin/payments', 'provider=paypal'],
      ['/api/admin/payments', 'kind=tip'],
      ['/api/admin/orders', 'status=done'],
      ['/api/admin/orders', 'symbol=BTC%2F'],
      ['/api/admin/orders', 'from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z'],
      ['/api/admin/orders', 'limit=500'],
      ['/api/admin/orders', 'page=101&limit=100'],
    ];
    for (const [path, query] of bad) {
      const res = await get<{ code: string }>(`${path}?${query}`);
      expect([path, query, res.status, res.body.code]).toEqual([path, query, 400, 'validation_failed']);
    }
  });

  it('overview: users, bots, orders, USD volume, MRR and subscriptions by plan and status', async () => {
    const a = await t.register();
    const b = await t.register();
    await subscribe(t, a, 'free');
    const proSub = await subscribe(t, b, 'pro');
    // Pro starts with a trial (no MRR); make it a paying yearly subscription.
    await t.db.dataSource.query(`UPDATE user_subscriptions SET status = 'active', billing_cycle = 'yearly' WHERE id = $1`, [proSub]);
    await t.db.dataSource.query(`UPDATE users SET is_active = false WHERE id = $1`, [a.id]);
    const before = (await get<Overview>('/api/admin/overview')).body;

    await order(a.id, { symbol: 'BTC/USDT', status: 'filled', cost: '100.5' });
    await order(a.id, { symbol: 'BTC/USDT', status: 'filled', mode: 'live', cost: '0.25' });
    await order(a.id, { symbol: 'ETH/BTC', status: 'filled', cost: '3' }); // not a USD quote: no USD volume
    await order(a.id, { symbol: 'BTC/USDT', status: 'canceled', filled: '0.5', cost: '10', reason: 'bot_stopped: the bot was stopped' }); // partly filled
    await order(a.id, { symbol: 'BTC/USDT', status: 'pending' });
    await order(a.id, { symbol: 'BTC/USDT', status: 'open' });

    const res = await get<Overview>('/api/admin/overview');
    expect(res.status).toBe(200);
    const o = res.body;
    expect(o.timezone).toBe(TZ);
    expect(o.users.total).toBeGreaterThanOrEqual(3);
    expect(o.users.total - o.users.active).toBe(1);
    expect(o.users.new_this_month).toBe(o.users.total); // every account here was made today
    expect(o.orders.total - before.orders.total).toBe(6);
    expect(o.orders.today - before.orders.today).toBe(6);
    expect(o.orders.unfinished - before.orders.unfinished).toBe(2);
    expect(o.orders.volume_usd).toEqual({ paper: '110.5', live: '0.25' });
    const [{ yearly }] = (await t.db.dataSource.query(`SELECT yearly_price::text AS yearly FROM subscription_plans WHERE code = 'pro'`)) as Array<{ yearly: string }>;
    const proMrr = (Math.round((Number(yearly) / 12) * 100) / 100).toString();
    expect(o.revenue.mrr_by_plan).toEqual([
      { plan: 'free', active_subscriptions: 1, mrr_usd: '0' },
      { plan: 'pro', active_subscriptions: 1, mrr_usd: proMrr },
    ]);
    expect(o.revenue.mrr_usd).toBe(proMrr);
    expect(o.subscriptions).toEqual(expect.arrayContaining([{ plan: 'free', status: 'active', subscriptions: 1 }, { plan: 'pro', status: 'active', subscriptions: 1 }]));

    // The rollup changes how the figures are read, never what they say. (It stays 1 s behind the clock.)
    await sleep(1_100);
    expect(await t.app.get(OrderStatsRollupJob).tick()).toBeGreaterThan(0); // the worker's job, as scheduled
    const [{ rolled }] = (await t.db.dataSource.query(`SELECT count(*)::int AS rolled FROM order_day_stats`)) as Array<{ rolled: number }>;
    expect(rolled).toBeGreaterThan(0);
    expect((await get<Overview>('/api/admin/overview')).body.orders).toEqual(o.orders);
  });

  it('trading stats: by day of the end, top symbols, reasons; the same before and after the rollup, and under another timezone', async () => {
    const u = await t.register();
    // Orders close at the closing transaction's now(): these back-dated ones are as if they existed
    // before the rollup first ran, so start it over.
    await t.db.dataSource.query(`DELETE FROM order_day_stats`);
    await t.db.dataSource.query(`UPDATE order_stats_state SET rolled_up_to = '-infinity'`);
    const day = '2026-03-10';
    // 2026-03-10 in Karachi (UTC+5) is 2026-03-09T19:00Z .. 2026-03-10T19:00Z.
    await order(u.id, { symbol: 'SOL/USDT', status: 'filled', cost: '40', closedAt: '2026-03-09T19:30:00Z' });
    await order(u.id, { symbol: 'SOL/USDT', status: 'filled', cost: '60', closedAt: '2026-03-10T18:59:00Z' });
    await order(u.id, { symbol: 'SOL/USDT', status: 'filled', cost: '1000', closedAt: '2026-03-10T19:00:00Z' }); // the 11th in Karachi
    await order(u.id, { symbol: 'SOL/USDT', status: 'rejected', reason: 'rejected_by_exchange: Insufficient balance', closedAt: '2026-03-10T10:00:00Z' });
    await order(u.id, { symbol: 'ADA/USDT', status: 'canceled', reason: 'subscription_ended: no plan', closedAt: '2026-03-10T11:00:00Z' });
    await order(u.id, { symbol: 'ADA/USDT', status: 'failed', closedAt: '2026-03-10T12:00:00Z' });

    const url = `/api/admin/trading/stats?from=${day}&to=2026-03-11`;
    const res = await get<TradingStats>(url);
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.by_day).toEqual([
      { day, finished: 5, filled: 2, canceled: 1, rejected: 1, failed: 1, volume_usd: '100' },
      { day: '2026-03-11', finished: 1, filled: 1, canceled: 0, rejected: 0, failed: 0, volume_usd: '1000' },
    ]);
    expect(s.finished).toBe(6);
    expect(s.top_symbols[0]).toEqual({ symbol: 'SOL/USDT', orders: 4, filled_orders: 3, quote_volume: '1100', volume_usd: '1100' });
    expect(s.reasons).toEqual(
      expect.arrayContaining([
        { status: 'rejected', reason: 'rejected_by_exchange', orders: 1, rate: '0.166667' },
        { status: 'canceled', reason: 'subscription_ended', orders: 1, rate: '0.166667' },
        { status: 'failed', reason: 'unspecified', orders: 1, rate: '0.166667' },
      ]),
    );
    expect((await get<TradingStats>(`${url}&mode=live`)).body.finished).toBe(0);

    // The latency percentiles are over the last hours up to now (test/orders/order-timeline): not the rollup's.
    const dayFigures = (body: TradingStats) => ({ ...body, latency: undefined });
    const rollup = new OrderStatsRollup(t.db.dataSource, TZ);
    await rollup.catchUp();
    expect(dayFigures((await get<TradingStats>(url)).body)).toEqual(dayFigures(s));

    // Rolled up under another timezone: ignored by the readers, rebuilt by the next run.
    const utc = new OrderStatsRollup(t.db.dataSource, 'UTC');
    await utc.catchUp();
    expect(dayFigures((await get<TradingStats>(url)).body)).toEqual(dayFigures(s));
    await rollup.catchUp();
    expect(dayFigures((await get<TradingStats>(url)).body)).toEqual(dayFigures(s));
  });

  it('an order closed by a transaction still running while the rollup runs is counted once it commits (the watermark stays behind it)', async () => {
    const u = await t.register();
    const id = await order(u.id, { symbol: 'XRP/USDT', status: 'open' });
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
    const url = `/api/admin/trading/stats?from=${today}&to=${today}`;
    const before = (await get<TradingStats>(url)).body.finished;

    const c = new Client({ connectionString: t.db.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query(`UPDATE orders SET status = 'filled', filled = 1, cost = 5, closed_at = now() WHERE id = $1`, [id]);
      await sleep(1_500); // its closed_at (the transaction's start) is now older than the rollup's 1 s margin
      await new OrderStatsRollup(t.db.dataSource, TZ).catchUp();
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    expect((await get<TradingStats>(url)).body.finished).toBe(before + 1);
    await new OrderStatsRollup(t.db.dataSource, TZ).catchUp();
    expect((await get<TradingStats>(url)).body.finished).toBe(before + 1);
  });

  it('users/stats counts registrations per day; revenue sums completed payments by month and plan', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
    const users = (await get<{ by_day: Array<{ day: string; registrations: number }>; total: number }>(`/api/admin/users/stats`)).body;
    expect(users.by_day).toHaveLength(30);
    const [{ n }] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM users`)) as Array<{ n: number }>;
    expect(users.by_day[29]).toEqual({ day: today, registrations: n });
    expect(users.total).toBe(n);

    const u = await t.register();
    const pro = await planId(t, 'pro');
    await t.db.dataSource.query(
      `INSERT INTO payments (user_id, plan_id, kind, provider, status, amount_usd, confirmed_at) VALUES
         ($1, $2, 'subscription', 'stripe', 'completed', 29, '2026-01-15T10:00:00Z'),
         ($1, $2, 'renewal', 'okx', 'completed', 29.5, '2026-02-01T10:00:00Z'),
         ($1, $2, 'renewal', 'okx', 'failed', 29, '2026-02-02T10:00:00Z'),
         ($1, NULL, 'profit_share', 'okx', 'completed', 12.25, '2026-01-31T19:30:00Z')`,
      [u.id, pro],
    );
    const rev = await get<{ total_usd: string; by_month: unknown[]; by_month_and_plan: unknown[] }>('/api/admin/revenue?from=2026-01&to=2026-03');
    expect(rev.status).toBe(200);
    expect(rev.body.total_usd).toBe('70.75');
    const none = { refunds: 0, refunds_usd: '0' };
    // 2026-01-31T19:30Z is February 1st in Karachi.
    expect(rev.body.by_month).toEqual([
      { month: '2026-01', payments: 1, revenue_usd: '29', ...none, net_usd: '29' },
      { month: '2026-02', payments: 2, revenue_usd: '41.75', ...none, net_usd: '41.75' },
      { month: '2026-03', payments: 0, revenue_usd: '0', ...none, net_usd: '0' },
    ]);
    expect(rev.body.by_month_and_plan).toEqual([
      { month: '2026-01', plan: 'pro', payments: 1, revenue_usd: '29', ...none, net_usd: '29' },
      { month: '2026-02', plan: 'pro', payments: 1, revenue_usd: '29.5', ...none, net_usd: '29.5' },
      { month: '2026-02', plan: 'profit_share', payments: 1, revenue_usd: '12.25', ...none, net_usd: '12.25' },
    ]);
  });

  it('lists every user’s subscriptions, payments, orders and audit rows with filters, in the users’ own shapes', async () => {
    const a = await t.register();
    const b = await t.register();
    await subscribe(t, a, 'free');
    await subscribe(t, b, 'pro');
    const oa = await order(a.id, { symbol: 'BTC/USDT', status: 'filled', cost: '7' });
    await order(b.id, { symbol: 'ETH/USDT', status: 'rejected', reason: 'rejected_by_exchange: x' });
    await t.db.dataSource.query(`INSERT INTO payments (user_id, plan_id, kind, provider, status, amount_usd) VALUES ($1, $2, 'subscription', 'okx', 'pending', 29)`, [
      b.id,
      await planId(t, 'pro'),
    ]);

    const subs = await get<{ items: Array<Record<string, unknown>>; total: number; total_capped: boolean }>(`/api/admin/subscriptions?user_id=${b.id}`);
    expect(subs.status).toBe(200);
    expect(subs.body.total).toBe(1);
    expect(subs.body.total_capped).toBe(false);
    const own = await t.request<{ items: Array<Record<string, unknown>> }>('GET', '/api/subscriptions', { token: b.access_token });
    expect(subs.body.items).toEqual(own.body.items);
    expect((await get<{ items: unknown[] }>(`/api/admin/subscriptions?plan=pro&user_id=${a.id}`)).body.items).toEqual([]);

    const pays = await get<{ items: Array<Record<string, unknown>>; total: number }>(`/api/admin/payments?user_id=${b.id}&provider=okx&plan=pro`);
    const ownPays = await t.request<{ items: unknown[] }>('GET', '/api/payments/history', { token: b.access_token });
    expect(pays.body.total).toBe(1);
    expect(pays.body.items).toEqual(ownPays.body.items);
    expect((await get<{ total: number }>(`/api/admin/payments?user_id=${b.id}&status=completed`)).body.total).toBe(0);

    const orders = await get<{ items: Array<Record<string, unknown>>; total: number }>(`/api/admin/orders?user_id=${a.id}&status=filled&symbol=BTC-USDT`);
    const ownOrders = await t.request<{ items: unknown[] }>('GET', '/api/orders', { token: a.access_token });
    expect(orders.body.items.map((o) => o.id)).toEqual([oa]);
    expect(orders.body.items).toEqual(ownOrders.body.items);
    expect((await get<{ total: number }>(`/api/admin/orders?user_id=${b.id}&status=filled`)).body.total).toBe(0);
    const all = await get<{ items: Array<{ created_at: string }>; total: number }>('/api/admin/orders?limit=5');
    expect(all.body.items.map((o) => o.created_at)).toEqual([...all.body.items.map((o) => o.created_at)].sort().reverse());
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get<{ total: number }>(`/api/admin/orders?from=${future}`)).body.total).toBe(0);

    const logs = await get<{ items: Array<{ event_type: string; user_id: string }>; total: number }>(`/api/admin/audit-logs?user_id=${a.id}&event_type=auth.register`);
    expect(logs.body.items).toEqual([expect.objectContaining({ event_type: 'auth.register', user_id: a.id })]);
    const page = await get<{ items: Array<{ created_at: string }>; total: number; page: number; limit: number }>('/api/admin/audit-logs?limit=3&page=2');
    expect(page.body).toMatchObject({ page: 2, limit: 3 });
    expect(page.body.items).toHaveLength(3);
    expect(page.body.items.map((x) => x.created_at)).toEqual([...page.body.items.map((x) => x.created_at)].sort().reverse());
    expect((await get<{ total: number }>(`/api/admin/audit-logs?user_id=${randomUUID()}`)).body.total).toBe(0);
  });
});
