import { WebhookIntake } from '../../libs/custom-bots/src/webhook-intake';
import { createTestApp, TestApp } from '../support/app';
import { runCli } from '../support/cli';
import { countRows, eventRows, Generated, runningBotWebhook, sendAlert, TestUser } from './support';

/**
 * The receive route runs on Fastify without Nest's router and without pino-http (WebhookReceiveRoute,
 * issue 16). What a caller sees must not change: statuses, the error shape with the request id,
 * the headers every API answer carries, the event rows; and a change answered while an alert is
 * between its (cached) lookup and its write still decides that alert.
 */
describe('webhook receive on the bare Fastify route (e2e, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_LOOKUP_CACHE_MS: '3600000', WEBHOOK_RATE_LIMIT_PER_USER: '0', WEBHOOK_RATE_LIMIT_PER_IP: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  let n = 0;
  const alert = () => ({ action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001', alert_id: `bare-${(n += 1)}` });

  async function trader(): Promise<{ user: TestUser & { email: string }; botId: string; hook: Generated }> {
    const { user, botId, hook } = await runningBotWebhook(t);
    expect((await sendAlert(t, hook.webhook_secret, alert())).status).toBe(202); // the lookup is cached now
    return { user, botId, hook };
  }

  /**
   * Holds the next alert's write until `during` has run: the alert has passed its checks on the cached
   * lookup (A), the state changes and that change is answered (B), then the alert is written (A's effect).
   */
  async function interleaved(secret: string, during: () => Promise<void>) {
    const intake = t.app.get(WebhookIntake, { strict: false });
    const write = intake.accept.bind(intake);
    let reached!: () => void;
    const atWrite = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const spy = jest.spyOn(intake, 'accept').mockImplementationOnce(async (item) => {
      reached();
      await released;
      return write(item);
    });
    try {
      const pending = sendAlert(t, secret, alert());
      await atWrite;
      await during();
      release();
      return await pending;
    } finally {
      spy.mockRestore();
    }
  }

  it('answers with the headers every API answer has, the request id in body and header', async () => {
    const f = await trader();
    const ok = await sendAlert(t, f.hook.webhook_secret, alert());
    expect(ok.status).toBe(202);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    const health = await t.request('GET', '/api/plans');
    for (const h of ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy', 'cache-control']) {
      expect([h, ok.headers[h]]).toEqual([h, health.headers[h]]);
    }
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.headers['x-request-id']).toEqual(expect.any(String));
    const given = await t.request('POST', `/api/custom-bot/webhook/receive/${f.hook.webhook_secret}`, {
      raw: JSON.stringify(alert()),
      headers: { 'content-type': 'text/plain', 'x-request-id': 'tv-alert-42' },
    });
    expect(given.headers['x-request-id']).toBe('tv-alert-42');
  });

  it.each([
    ['malformed JSON', 400, 'malformed_json', '{"action":"buy",', 'text/plain'],
    ['malformed JSON sent as application/json', 400, 'malformed_json', '{"action":', 'application/json'],
    ['wrong types', 400, 'invalid_signal', '{"action":42,"ticker":["BTCUSDT"],"quantity":{"x":1}}', 'application/json'],
    ['an empty body', 400, 'malformed_json', '', 'text/plain'],
    ['a form body', 400, 'malformed_json', 'action=buy&ticker=BTCUSDT', 'application/x-www-form-urlencoded'],
    ['a body over 1 MiB', 413, 'payload_too_large', JSON.stringify({ action: 'buy', pad: 'x'.repeat(1_100_000) }), 'text/plain'],
  ])('%s → %i %s in the error shape, one event row, no order, no secret in any log line', async (_label, status, code, raw, type) => {
    const f = await trader();
    const orders = await countRows(t, 'orders');
    const res = await sendAlert(t, f.hook.webhook_secret, raw, type);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ statusCode: status, error: expect.any(String), code, message: expect.any(String), details: expect.any(Array), request_id: res.headers['x-request-id'] });
    expect(res.text).not.toContain(f.hook.webhook_secret);
    expect(await countRows(t, 'orders')).toBe(orders);
    const events = await eventRows(t, f.hook.id);
    expect(events.slice(1)).toEqual([expect.objectContaining({ outcome: 'rejected', status_code: status, reason: code, order_id: null })]);
    expect(t.logs.text()).not.toContain(f.hook.webhook_secret);
  });

  it('logs each alert at debug with the path masked, and no pino-http line for it', async () => {
    const f = await trader();
    const before = t.logs.lines.length;
    const res = await sendAlert(t, f.hook.webhook_secret, alert());
    expect(res.status).toBe(202);
    const lines = t.logs.lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = lines.filter((l) => l.request_id === res.headers['x-request-id']);
    expect(mine).toEqual([expect.objectContaining({ msg: 'Webhook alert answered', status: 202, url: '/api/custom-bot/webhook/receive/[redacted]' })]);
    expect(lines.some((l) => l.msg === 'request completed')).toBe(false);
    // Nor any line with a request context (nestjs-pino's `req`): the route skips request logging entirely.
    expect(lines.filter((l) => (l.req as { id?: string } | undefined)?.id === res.headers['x-request-id'])).toEqual([]);
    expect(t.logs.text()).not.toContain(f.hook.webhook_secret);
  });

  it('a stop answered while an alert waits for its write: 403 bot_stopped, no order, the reason logged', async () => {
    const f = await trader();
    const orders = await countRows(t, 'orders', 'bot_id = $1', [f.botId]);
    const res = await interleaved(f.hook.webhook_secret, async () => {
      expect((await t.request('POST', `/api/bots/${f.botId}/stop`, { token: f.user.access_token })).status).toBe(200);
    });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'bot_stopped' });
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(orders);
    expect((await eventRows(t, f.hook.id)).map((e) => [e.outcome, e.reason])).toEqual([
      ['accepted', null],
      ['rejected', 'bot_stopped'],
    ]);
  });

  it('a secret rotated while an alert with the old one waits for its write: 404, no order', async () => {
    const f = await trader();
    const orders = await countRows(t, 'orders', 'bot_id = $1', [f.botId]);
    let rotated = '';
    const res = await interleaved(f.hook.webhook_secret, async () => {
      const r = await t.request<Generated>('POST', `/api/custom-bot/webhooks/${f.hook.id}/rotate`, { token: f.user.access_token });
      expect(r.status).toBe(201);
      rotated = r.body.webhook_secret;
    });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'not_found' });
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(orders);
    expect((await sendAlert(t, rotated, alert())).status).toBe(202);
  });

  it('a user deactivated while an alert waits for its write: 403 user_inactive, no order, the reason logged', async () => {
    const f = await trader();
    const orders = await countRows(t, 'orders', 'bot_id = $1', [f.botId]);
    const res = await interleaved(f.hook.webhook_secret, async () => {
      expect((await runCli(t, ['deactivate-user', '--email', f.user.email])).stdout).toContain('is deactivated');
    });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'user_inactive' });
    expect(await countRows(t, 'orders', 'bot_id = $1', [f.botId])).toBe(orders);
    const events = await eventRows(t, f.hook.id);
    expect(events[events.length - 1]).toMatchObject({ outcome: 'rejected', status_code: 403, reason: res.body.code, order_id: null });
  });

  it('logs one summary of the answers by status when the app stops', async () => {
    const f = await trader();
    expect((await sendAlert(t, f.hook.webhook_secret, '{"action":')).status).toBe(400);
    await t.close();
    const summaries = t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'Webhook alerts answered');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    const last = summaries[summaries.length - 1] as { by_status: Record<string, number>; requests: number; url: string };
    expect(last.url).toBe('/api/custom-bot/webhook/receive/[redacted]');
    expect(last.by_status['202']).toBeGreaterThanOrEqual(1);
    expect(last.by_status['400']).toBeGreaterThanOrEqual(1);
    t = undefined as unknown as TestApp;
  });
});
