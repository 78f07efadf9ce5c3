import { Client } from 'pg';
import { compactPaymentRevenue, PaymentRevenueCompactionJob } from '@torgovo/payments';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { planId } from '../custom-bots/support';

const TZ = 'Asia/Karachi';

interface Figures {
  payments: number;
  revenue_usd: string;
  refunds: number;
  refunds_usd: string;
  net_usd: string;
}
interface Revenue extends Pick<Figures, 'refunds_usd' | 'net_usd'> {
  total_usd: string;
  by_month: Array<Figures & { month: string }>;
  by_month_and_plan: Array<Figures & { month: string; plan: string }>;
}

const zero: Figures = { payments: 0, revenue_usd: '0', refunds: 0, refunds_usd: '0', net_usd: '0' };

// GET /admin/revenue reads payment_revenue, which a trigger on payments appends to in the
// transaction of every payment change and the worker folds into months: these walk the changes a
// payment goes through and check the figures stay exact before, during and after a folding.
describe('admin revenue: gross, refunds and net by month and plan (/api/admin/revenue)', () => {
  let t: TestApp;
  let root: { id: string; access_token: string };
  let user: string;
  let pro: string;
  let enterprise: string;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, APP_TIMEZONE: TZ });
    root = await t.admin();
    user = (await t.register()).id;
    pro = await planId(t, 'pro');
    enterprise = await planId(t, 'enterprise');
  });
  afterAll(async () => {
    await t?.close();
  });

  const revenue = async (from: string, to: string): Promise<Revenue> => {
    const res = await t.request<Revenue>('GET', `/api/admin/revenue?from=${from}&to=${to}`, { token: root.access_token });
    expect(res.status).toBe(200);
    return res.body;
  };
  const sql = (text: string, params: unknown[] = []) => t.db.dataSource.query(text, params) as Promise<Array<Record<string, unknown>>>;
  const pay = async (plan: string | null, amount: string, status: string, confirmedAt: string | null, kind = 'renewal'): Promise<string> => {
    const [{ id }] = await sql(
      `INSERT INTO payments (user_id, plan_id, kind, provider, status, amount_usd, confirmed_at) VALUES ($1, $2, $3, 'okx', $4, $5, $6) RETURNING id`,
      [user, plan, kind, status, amount, confirmedAt],
    );
    return id as string;
  };
  const fold = () => t.app.get(PaymentRevenueCompactionJob).tick();

  it('a refund counts in the month it happens, against the plan paid; net = gross − refunds; folding changes nothing', async () => {
    const paid = await pay(pro, '29', 'completed', '2025-04-10T10:00:00Z');
    await pay(enterprise, '99', 'completed', '2025-04-20T10:00:00Z');
    await pay(null, '12.5', 'completed', '2025-04-21T10:00:00Z', 'profit_share');
    // Refunded in May (Karachi: 2025-05-01 02:00).
    await sql(`UPDATE payments SET refund_id = 're_1', refunded_at = '2025-04-30T21:00:00Z', failure_reason = 'unapplied: test' WHERE id = $1`, [paid]);

    const before = await revenue('2025-04', '2025-06');
    expect(before).toMatchObject({ total_usd: '140.5', refunds_usd: '29', net_usd: '111.5' });
    expect(before.by_month).toEqual([
      { month: '2025-04', payments: 3, revenue_usd: '140.5', refunds: 0, refunds_usd: '0', net_usd: '140.5' },
      { month: '2025-05', payments: 0, revenue_usd: '0', refunds: 1, refunds_usd: '29', net_usd: '-29' },
      { month: '2025-06', ...zero },
    ]);
    expect(before.by_month_and_plan).toEqual([
      { month: '2025-04', plan: 'enterprise', payments: 1, revenue_usd: '99', refunds: 0, refunds_usd: '0', net_usd: '99' },
      { month: '2025-04', plan: 'pro', payments: 1, revenue_usd: '29', refunds: 0, refunds_usd: '0', net_usd: '29' },
      { month: '2025-04', plan: 'profit_share', payments: 1, revenue_usd: '12.5', refunds: 0, refunds_usd: '0', net_usd: '12.5' },
      { month: '2025-05', plan: 'pro', payments: 0, revenue_usd: '0', refunds: 1, refunds_usd: '29', net_usd: '-29' },
    ]);

    // A refund flow that also moves the payment out of 'completed': still received in April, refunded in May.
    await sql(`UPDATE payments SET status = 'cancelled' WHERE id = $1`, [paid]);
    expect(await revenue('2025-04', '2025-06')).toEqual(before);

    expect(await fold()).toBeGreaterThan(0);
    expect(await revenue('2025-04', '2025-06')).toEqual(before);
    // Folded: one row per month and plan, none appended.
    const rows = await sql(`SELECT compacted, count(*)::int AS n FROM payment_revenue GROUP BY compacted`);
    expect(rows).toEqual([{ compacted: true, n: 4 }]);
    expect(await fold()).toBe(0);
  });

  it('counts each change of a payment once: pending, completed, an unrelated edit, a rolled-back completion, a deletion', async () => {
    const base = await revenue('2025-07', '2025-07');
    expect(base.by_month).toEqual([{ month: '2025-07', ...zero }]);

    const id = await pay(pro, '29', 'pending', null);
    expect((await revenue('2025-07', '2025-07')).by_month).toEqual([{ month: '2025-07', ...zero }]);
    await sql(`UPDATE payments SET status = 'completed', confirmed_at = '2025-07-05T00:00:00Z' WHERE id = $1`, [id]);
    await sql(`UPDATE payments SET checkout_url = 'https://example.com/x', tx_hash = 'abc' WHERE id = $1`, [id]);
    // Completed in a transaction that rolls back: not counted.
    const other = await pay(enterprise, '99', 'pending', null);
    await t.db.dataSource
      .transaction(async (m) => {
        await m.query(`UPDATE payments SET status = 'completed', confirmed_at = '2025-07-06T00:00:00Z' WHERE id = $1`, [other]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const expected = { month: '2025-07', payments: 1, revenue_usd: '29', refunds: 0, refunds_usd: '0', net_usd: '29' };
    expect((await revenue('2025-07', '2025-07')).by_month).toEqual([expected]);
    await fold();
    expect((await revenue('2025-07', '2025-07')).by_month).toEqual([expected]);

    // Its amount corrected, then the row deleted: the month follows each time.
    await sql(`UPDATE payments SET amount_usd = 30 WHERE id = $1`, [id]);
    expect((await revenue('2025-07', '2025-07')).by_month).toEqual([{ ...expected, revenue_usd: '30', net_usd: '30' }]);
    await sql(`DELETE FROM payments WHERE id = $1`, [id]);
    expect((await revenue('2025-07', '2025-07')).by_month).toEqual([{ month: '2025-07', ...zero }]);
    await fold();
    expect((await revenue('2025-07', '2025-07')).by_month_and_plan).toEqual([]);
  });

  it('a payment completed in a transaction still open while the worker folds is counted once it commits, and only once', async () => {
    const id = await pay(enterprise, '99', 'pending', null);
    const c = new Client({ connectionString: t.db.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query(`UPDATE payments SET status = 'completed', confirmed_at = '2025-08-03T00:00:00Z' WHERE id = $1`, [id]);
      // The folding neither waits for it nor sees it.
      await fold();
      expect((await revenue('2025-08', '2025-08')).by_month).toEqual([{ month: '2025-08', ...zero }]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    const expected = [{ month: '2025-08', payments: 1, revenue_usd: '99', refunds: 0, refunds_usd: '0', net_usd: '99' }];
    expect((await revenue('2025-08', '2025-08')).by_month).toEqual(expected);
    await fold();
    await fold();
    expect((await revenue('2025-08', '2025-08')).by_month).toEqual(expected);
  });

  it('months folded under another timezone are rebuilt from the payments under APP_TIMEZONE', async () => {
    // 2025-09-30T20:00Z is October 1st in Karachi, still September in UTC.
    await pay(pro, '29', 'completed', '2025-09-30T20:00:00Z');
    await fold();
    const karachi = await revenue('2025-09', '2025-10');
    expect(karachi.by_month.map((m) => [m.month, m.payments])).toEqual([
      ['2025-09', 0],
      ['2025-10', 1],
    ]);
    // As if a replica under APP_TIMEZONE=UTC had folded last.
    expect(await compactPaymentRevenue(t.db.dataSource, 'UTC')).toMatchObject({ rebuilt: true });
    const [{ timezone }] = await sql(`SELECT timezone FROM payment_revenue_state`);
    expect(timezone).toBe('UTC');
    expect(await revenue('2025-09', '2025-10')).toEqual(karachi);
    const [{ timezone: now }] = await sql(`SELECT timezone FROM payment_revenue_state`);
    expect(now).toBe(TZ);
    // Every figure of the file still agrees with the payments themselves.
    const all = await revenue('2025-01', '2025-12');
    const [truth] = await sql(
      `SELECT trim_scale(coalesce(sum(amount_usd) FILTER (WHERE status = 'completed' OR refunded_at IS NOT NULL), 0))::text AS gross,
              trim_scale(coalesce(sum(amount_usd) FILTER (WHERE refunded_at IS NOT NULL), 0))::text AS refunds
         FROM payments WHERE user_id = $1`,
      [user],
    );
    expect([all.total_usd, all.refunds_usd]).toEqual([truth.gross, truth.refunds]);
  });
});
