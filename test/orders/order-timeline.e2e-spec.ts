import { OrderResponse, OrderWatchdog, TradingManager } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { generateWebhook, sendAlert, subscribe } from '../custom-bots/support';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

/** The order timeline, the admin's latency percentiles and the order watchdog's health flag (e2e). */
describe('order timeline, latency percentiles and the order watchdog', () => {
  let t: TestApp;
  let ds: DataSource;
  let manager: TradingManager;
  let watchdog: OrderWatchdog;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, ORDER_WAIT_ALERT_SECONDS: '30' });
    ds = t.app.get(DataSource);
    manager = t.app.get(TradingManager);
    watchdog = t.app.get(OrderWatchdog);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function paperTrader() {
    const u = await t.register();
    await subscribe(t, u, 'pro');
    const bot = await t.request('POST', '/api/bots', {
      token: u.access_token,
      body: { name: 'timeline', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'base', value: '0.001' } },
    });
    const hook = await generateWebhook(t, u, bot.body.id as string);
    let n = 0;
    const alert = async () => (await sendAlert(t, hook.webhook_secret, { action: 'buy', ticker: 'BTCUSDT', price: '60000', alert_id: `t${++n}` })).body.order_id as string;
    return { u, alert };
  }

  it('each order shows received, claimed, sent, acknowledged and filled, in that order, on GET /orders and GET /orders/{id}', async () => {
    const { u, alert } = await paperTrader();
    const id = await alert();
    const pending = await t.request<OrderResponse>('GET', `/api/orders/${id}`, { token: u.access_token });
    expect(pending.body.timeline).toEqual({ received_at: pending.body.created_at, claimed_at: null, sent_at: null, acknowledged_at: null, filled_at: null });
    await manager.runUntilIdle();
    const list = await t.request<{ items: OrderResponse[] }>('GET', '/api/orders', { token: u.access_token });
    const { timeline } = list.body.items.find((o) => o.id === id)!;
    const times = [timeline.received_at, timeline.claimed_at, timeline.sent_at, timeline.acknowledged_at, timeline.filled_at];
    expect(times.every((v) => typeof v === 'string')).toBe(true);
    const ms = times.map((v) => Date.parse(v!));
    expect([...ms].sort((a, b) => a - b)).toEqual(ms);
  });

  it('GET /admin/trading/stats gives p50/p95/p99 of received→sent, sent→acknowledged and received→filled over the window', async () => {
    const { alert } = await paperTrader();
    const ids = [await alert(), await alert(), await alert()];
    await manager.runUntilIdle();
    // Known spans, set by hand: 100, 200, 300 ms to send; 10, 20, 30 ms to the answer.
    for (const [i, id] of ids.entries()) {
      await ds.query(
        `UPDATE orders SET created_at = now() - interval '1 hour', sent_at = now() - interval '1 hour' + make_interval(secs => $2::float / 1000),
                acknowledged_at = now() - interval '1 hour' + make_interval(secs => ($2::float + $3::float) / 1000),
                closed_at = now() - interval '1 hour' + make_interval(secs => ($2::float + $3::float) / 1000) WHERE id = $1`,
        [id, (i + 1) * 100, (i + 1) * 10],
      );
    }
    // The other orders of this database leave the window: the three alone are measured.
    await ds.query(`UPDATE orders SET created_at = now() - interval '200 hours' WHERE NOT (id = ANY($1::uuid[]))`, [ids]);
    const admin = await t.admin();
    const res = await t.request<{ latency: Record<string, unknown> }>('GET', '/api/admin/trading/stats?latency_hours=24&mode=paper', { token: admin.access_token });
    expect(res.status).toBe(200);
    expect(res.body.latency).toMatchObject({
      window_hours: 24,
      received_to_sent: { samples: 3, p50_ms: 200, p95_ms: 290, p99_ms: 298 },
      sent_to_acknowledged: { samples: 3, p50_ms: 20, p95_ms: 29, p99_ms: 30 },
      received_to_filled: { samples: 3, p50_ms: 220, p95_ms: 319, p99_ms: 328 },
    });
    const live = await t.request<{ latency: Record<string, unknown> }>('GET', '/api/admin/trading/stats?mode=live', { token: admin.access_token });
    expect(live.body.latency).toMatchObject({ window_hours: 24, received_to_sent: { samples: 0, p50_ms: null, p95_ms: null, p99_ms: null } });
    for (const bad of ['latency_hours=0', 'latency_hours=169', 'latency_hours=abc']) {
      expect((await t.request('GET', `/api/admin/trading/stats?${bad}`, { token: admin.access_token })).status).toBe(400);
    }
    const user = await t.register();
    expect((await t.request('GET', '/api/admin/trading/stats', { token: user.access_token })).status).toBe(403);
  });

  it('the watchdog: orders waiting past the threshold, or a stopped worker heartbeat, raise the flag in GET /health and log at error; it clears by itself', async () => {
    const health = async () => (await t.request<{ details: { alerts: Record<string, unknown> } }>('GET', '/health')).body.details.alerts;
    await manager.runUntilIdle();
    expect(await watchdog.tick()).toMatchObject({ orders_waiting: 0, stopped_workers: 0, reasons: [] });
    expect(await health()).toMatchObject({ status: 'up', state: 'ok', raised: [] });

    const { alert } = await paperTrader();
    const id = await alert();
    await ds.query(`UPDATE orders SET created_at = now() - interval '45 seconds' WHERE id = $1`, [id]);
    expect(await watchdog.tick()).toMatchObject({ orders_waiting: 1, reasons: ['orders_waiting'], wait_alert_seconds: 30 });
    const raised = await health();
    expect(raised).toMatchObject({ state: 'alert', raised: ['order_watchdog'] });
    expect((raised.flags as Record<string, Record<string, unknown>>).order_watchdog).toMatchObject({ raised: true, orders_waiting: 1, reasons: ['orders_waiting'] });
    const errorLines = t.logs.lines.filter((l) => l.includes('Order watchdog alert'));
    expect(errorLines.length).toBeGreaterThan(0);
    expect(JSON.parse(errorLines[errorLines.length - 1]).level).toBe(50);

    await manager.runUntilIdle();
    // A worker killed without deregistering: its beat stopped 2 minutes ago.
    await ds.query(`INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, beat_at) VALUES ('dead:1', 'dead', 1, now() - interval '1 hour', now() - interval '2 minutes')`);
    expect(await watchdog.tick()).toMatchObject({ orders_waiting: 0, stopped_workers: 1, reasons: ['worker_heartbeat_stopped'] });
    expect(await health()).toMatchObject({ state: 'alert' });

    await ds.query(`DELETE FROM worker_heartbeats WHERE worker_id = 'dead:1'`);
    expect(await watchdog.tick()).toMatchObject({ reasons: [] });
    expect(await health()).toMatchObject({ state: 'ok', raised: [] });
  });
});
