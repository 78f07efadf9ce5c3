import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';

const UA = 'admin-audit-check/2.0';

interface AuditRow {
  event_type: string;
  actor_id: string | null;
  ip: string | null;
  user_agent: string | null;
}

// "Every admin action is audited with IP and user agent" (issue 15): each operation the OpenAPI
// document marks x-admin-only that changes something is called here once, with its own user
// agent, and its audit row must name the admin, the IP and that user agent. A new admin
// operation fails the first case until it is added below.
describe('every mutating admin operation is audited with the admin, IP and user agent', () => {
  let t: TestApp;
  let root: { id: string; access_token: string };

  beforeAll(async () => {
    t = await createTestApp(WORKER_JOBS_BY_HAND);
    root = await t.admin();
  });
  afterAll(async () => {
    await t?.close();
  });

  const COVERED = [
    'PATCH /api/admin/users/{id}',
    'DELETE /api/admin/users/{id}',
    'POST /api/subscription-plans',
    'PATCH /api/subscription-plans/{id}',
    'DELETE /api/subscription-plans/{id}',
    'POST /api/admin/payments/unmatched/{id}/assign',
    'POST /api/managed-bots',
    'PATCH /api/managed-bots/{id}',
    'POST /api/managed-bots/{id}/signals',
    'POST /api/managed-bots/{id}/webhook',
  ];

  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    t.request<T>(method, path, { token: root.access_token, body, headers: { 'user-agent': UA } });

  /** The audit rows of `eventType` whose data or user match, newest first. */
  const audits = async (eventType: string, where: string, param: string): Promise<AuditRow[]> =>
    (await t.db.dataSource.query(`SELECT event_type, actor_id, ip, user_agent FROM audit_logs WHERE event_type = $1 AND ${where} ORDER BY created_at DESC`, [
      eventType,
      param,
    ])) as AuditRow[];

  const byAdmin = (eventType: string) => ({ event_type: eventType, actor_id: root.id, ip: expect.stringMatching(/\S/), user_agent: UA });

  it('covers every non-GET x-admin-only operation of the API', () => {
    const ops: string[] = [];
    for (const [path, item] of Object.entries(t.openapi.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
        if (method !== 'get' && typeof op === 'object' && op?.['x-admin-only'] === true) ops.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.filter((op) => !COVERED.includes(op))).toEqual([]);
  });

  it('PATCH and DELETE /admin/users/{id}: activation, role, erasure', async () => {
    const u = await t.register();
    expect((await call('PATCH', `/api/admin/users/${u.id}`, { is_active: false })).status).toBe(200);
    expect((await call('PATCH', `/api/admin/users/${u.id}`, { is_active: true })).status).toBe(200);
    expect((await call('PATCH', `/api/admin/users/${u.id}`, { role: 'admin' })).status).toBe(200);
    expect((await call('PATCH', `/api/admin/users/${u.id}`, { role: 'user' })).status).toBe(200);
    expect(await audits('user.deactivated', 'user_id = $2', u.id)).toEqual([byAdmin('user.deactivated')]);
    expect(await audits('user.activated', 'user_id = $2', u.id)).toEqual([byAdmin('user.activated')]);
    expect(await audits('user.role_changed', 'user_id = $2', u.id)).toEqual([byAdmin('user.role_changed'), byAdmin('user.role_changed')]);

    expect((await call('DELETE', `/api/admin/users/${u.id}`)).status).toBe(204);
    expect(await audits('user.erased', 'user_id = $2', u.id)).toEqual([byAdmin('user.erased')]);
  });

  it('POST, PATCH and DELETE /subscription-plans', async () => {
    const made = await call<{ id: string }>('POST', '/api/subscription-plans', {
      plan_type: 'custom_bot',
      code: `audit_${Date.now()}`,
      name: 'Audit',
      monthly_price: '5.00',
      yearly_price: '50.00',
      max_bots: 1,
      max_trading_pairs: 1,
      live_trading: false,
    });
    expect(made.status).toBe(201);
    expect((await call('PATCH', `/api/subscription-plans/${made.body.id}`, { name: 'Audit 2' })).status).toBe(200);
    expect((await call('DELETE', `/api/subscription-plans/${made.body.id}`)).status).toBe(200);
    for (const event of ['plan.created', 'plan.updated', 'plan.deactivated']) {
      expect(await audits(event, `data->>'plan_id' = $2`, made.body.id)).toEqual([byAdmin(event)]);
    }
  });

  it('POST /admin/payments/unmatched/{id}/assign', async () => {
    const u = await t.register();
    // An expired USDT payment and a deposit that arrived too late for it, as the PaymentChecker leaves them.
    const [{ id: paymentId }] = (await t.db.dataSource.query(
      `INSERT INTO payments (user_id, kind, provider, status, amount_usd, crypto_currency, crypto_amount)
       VALUES ($1, 'subscription', 'okx', 'expired', 29, 'USDT', 29.0137) RETURNING id`,
      [u.id],
    )) as Array<{ id: string }>;
    const tx = randomUUID();
    const [{ id: depositId }] = (await t.db.dataSource.query(
      `INSERT INTO crypto_deposits (provider, dep_id, tx_id, ccy, chain, amount, to_address, state, deposited_at, match_status, first_seen_at, updated_at)
       VALUES ('okx', $1, $2, 'USDT', 'USDT-TRC20', 29.0137, 'TAddress', '2', now(), 'unmatched', now(), now()) RETURNING id`,
      [`dep-${tx}`, tx],
    )) as Array<{ id: string }>;
    const res = await call('POST', `/api/admin/payments/unmatched/${depositId}/assign`, { payment_id: paymentId });
    expect(res.status).toBe(200);
    expect(await audits('payment.assigned', `data->>'payment_id' = $2`, paymentId)).toEqual([byAdmin('payment.assigned')]);
  });

  it('POST and PATCH /managed-bots, its signals (repeats included) and its webhook rotation', async () => {
    const made = await call<{ id: string }>('POST', '/api/managed-bots', { name: 'Audited lead', symbols: ['BTC/USDT'] });
    expect(made.status).toBe(201);
    const id = made.body.id;
    expect((await call('PATCH', `/api/managed-bots/${id}`, { description: 'trend following' })).status).toBe(200);
    expect((await call('POST', `/api/managed-bots/${id}/webhook`)).status).toBe(201);
    const signal = { action: 'buy', symbol: 'BTC/USDT', fraction: '0.1', price: '50000', signal_id: `audit-${id}` };
    expect((await call('POST', `/api/managed-bots/${id}/signals`, signal)).status).toBe(202);
    expect((await call('POST', `/api/managed-bots/${id}/signals`, signal)).status).toBe(202); // the repeat: nothing created, still audited
    for (const event of ['managed_bot.created', 'managed_bot.updated', 'managed_bot.webhook_rotated']) {
      expect(await audits(event, `data->>'managed_bot_id' = $2`, id)).toEqual([byAdmin(event)]);
    }
    expect(await audits('managed_bot.signal', `data->>'managed_bot_id' = $2`, id)).toEqual([byAdmin('managed_bot.signal'), byAdmin('managed_bot.signal')]);
  });
});
