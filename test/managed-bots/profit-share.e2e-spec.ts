import { Decimal } from '@torgovo/core';
import { FollowerPerformanceService, FollowsService, ManagedBotsJob, ProfitShareSettlementService } from '@torgovo/managed-bots';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { seedFollowers } from './seed-followers';
import { bootManagedWorker, createManagedBot, drain, follow, lastError, managedSubscriber, signal } from './support';

type Settlement = { kind: string; owed: string; high_water_mark_before: string; high_water_mark_after: string; equity: string; payment_id: string | null };

/**
 * The high-water mark over months, with real paper fills (paper fee 0.1 %: in base on a buy, in
 * quote on a sell). Each test settles its own calendar months (the job settles the month before
 * the `now` it is given) and ends its follows, so tests do not settle each other.
 */
describe('profit share: high-water mark and monthly settlement (e2e)', () => {
  let t: TestApp;
  let ds: DataSource;
  let admin: { id: string; access_token: string };
  let job: ManagedBotsJob;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, TRADING_CONCURRENCY: '16', DATABASE_POOL_SIZE: '10', LOG_LEVEL: 'warn' });
    ds = t.app.get(DataSource);
    admin = await t.admin();
    job = t.app.get(ManagedBotsJob);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A full round trip on paper: buy `fraction` of the investment at `buy`, close it all at `sell`. */
  async function roundTrip(botId: string, ref: string, buy: string, sell: string, fraction = '1'): Promise<void> {
    await signal(t, admin, botId, { action: 'buy', fraction, price: buy, signal_id: `${ref}-buy` });
    await drain(t, botId);
    await signal(t, admin, botId, { action: 'close', fraction: '1', price: sell, signal_id: `${ref}-close` });
    await drain(t, botId);
  }

  const ledger = async (followId: string): Promise<Settlement[]> =>
    ((await ds.query(
      `SELECT kind, owed::text, high_water_mark_before::text, high_water_mark_after::text, equity::text, payment_id
         FROM managed_profit_share_settlements WHERE follow_id = $1 ORDER BY period_start`,
      [followId],
    )) as Settlement[]).map((s) => ({ ...s, owed: new Decimal(s.owed).toFixed(2), high_water_mark_before: new Decimal(s.high_water_mark_before).toFixed(), high_water_mark_after: new Decimal(s.high_water_mark_after).toFixed(), equity: new Decimal(s.equity).toFixed() }));

  it('three months — a gain, a loss, a recovery above the previous high: charged on the first gain and on the part of the recovery above it only', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const f = (await follow(t, u, botId, { investment: '1000' })) as { id: string };
    await ds.query(`UPDATE managed_bot_follows SET started_at = '2025-12-01' WHERE id = $1`, [f.id]);

    // January: 1000 at 50,000 → 0.02 BTC, 0.01998 after the fee; sold at 55,000 → 1098.9 − 1.0989. Gain 97.8011.
    await roundTrip(botId, 'jan', '50000', '55000');
    await job.run(new Date('2026-02-10T12:00:00Z'));
    // February: bought at 50,000 again, sold at 45,000 → 899.1 − 0.8991. Loss 101.7991; cumulative −3.998.
    await roundTrip(botId, 'feb', '50000', '45000');
    await job.run(new Date('2026-03-10T12:00:00Z'));
    // March: 1000 at 40,000 → 0.025 BTC, 0.024975 after the fee; sold at 48,000 → 1198.8 − 1.1988. Gain 197.6012; cumulative 193.6032.
    await roundTrip(botId, 'mar', '40000', '48000');
    await job.run(new Date('2026-04-10T12:00:00Z'));

    expect(await ledger(f.id)).toEqual([
      { kind: 'monthly', equity: '1097.8011', high_water_mark_before: '1000', high_water_mark_after: '1097.8011', owed: '19.56', payment_id: expect.any(String) },
      { kind: 'monthly', equity: '996.002', high_water_mark_before: '1097.8011', high_water_mark_after: '1097.8011', owed: '0.00', payment_id: null },
      // 20 % of (1193.6032 − 1097.8011) = 19.16042, never of the 193.6032 cumulative gain.
      { kind: 'monthly', equity: '1193.6032', high_water_mark_before: '1097.8011', high_water_mark_after: '1193.6032', owed: '19.16', payment_id: expect.any(String) },
    ]);
    const payments = (await ds.query(`SELECT kind, amount_usd::text FROM payments WHERE user_id = $1 AND kind = 'profit_share' ORDER BY created_at`, [u.id])) as Array<{ kind: string; amount_usd: string }>;
    expect(payments.map((p) => p.amount_usd)).toEqual(['19.56', '19.16']);

    const perf = await t.request<Array<{ profit_share_paid: string; high_water_mark: string; net_pnl: string; monthly_returns: Array<Record<string, unknown>> }>>('GET', '/api/managed-bot/performance', { token: u.access_token });
    expect(perf.body[0]).toMatchObject({ profit_share_paid: '38.72', high_water_mark: '1193.6032', net_pnl: '193.6032' });
    expect(perf.body[0].monthly_returns.slice(0, 3)).toEqual([
      { month: '2026-01', return_pct: '9.7801', guaranteed_pct: '3', shortfall_pct: '0', settled: true },
      // −101.7991 / 1097.8011: 3 % guaranteed, 12.273 short.
      { month: '2026-02', return_pct: '-9.273', guaranteed_pct: '3', shortfall_pct: '12.273', settled: true },
      { month: '2026-03', return_pct: '19.8394', guaranteed_pct: '3', shortfall_pct: '0', settled: true },
    ]);
    await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
  });

  it('a top-up and a withdrawal between two settlements: no share on the follower\'s own money, none escaped by withdrawing', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const f = (await follow(t, u, botId, { investment: '1000' })) as { id: string };
    await ds.query(`UPDATE managed_bot_follows SET started_at = '2026-04-01' WHERE id = $1`, [f.id]);

    await roundTrip(botId, 'may', '50000', '55000'); // +97.8011
    await job.run(new Date('2026-06-05T12:00:00Z'));
    const topUp = await t.request<{ investment: string; high_water_mark: string }>('POST', `/api/managed-bot/${botId}/investment`, { token: u.access_token, body: { amount: '500' } });
    expect([topUp.status, lastError(t)]).toEqual([200, '']);
    expect(topUp.body).toMatchObject({ investment: '1500', high_water_mark: '1597.8011' });

    // June: 1500 at 50,000 → 0.03 BTC, 0.02997 kept; sold at 50,000 → 1498.5 − 1.4985: −2.9985.
    await roundTrip(botId, 'jun', '50000', '50000');
    const equity = new Decimal('1500').plus('97.8011').minus('2.9985'); // 1594.8026
    const withdrawal = await t.request<{ investment: string; high_water_mark: string }>('POST', `/api/managed-bot/${botId}/investment`, { token: u.access_token, body: { amount: '-500' } });
    expect(withdrawal.status).toBe(200);
    const markAfter = new Decimal('1597.8011').mul(equity.minus(500)).div(equity);
    expect(withdrawal.body.investment).toBe('1000');
    expect(new Decimal(withdrawal.body.high_water_mark).toDecimalPlaces(10).toFixed()).toBe(markAfter.toDecimalPlaces(10).toFixed());

    await job.run(new Date('2026-07-05T12:00:00Z'));
    // July: 1000 at 50,000 → 0.01998 kept; sold at 60,000 → 1198.8 − 1.1988: +197.6012.
    await roundTrip(botId, 'jul', '50000', '60000');
    await job.run(new Date('2026-08-05T12:00:00Z'));

    const rows = await ledger(f.id);
    expect(rows.map((r) => r.owed)).toEqual(['19.56', '0.00', new Decimal('1000').plus('292.4038').minus(markAfter).mul('0.2').toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2)]);
    // Without the mark moving with the top-up, June would have charged 20 % of the 500 put in.
    expect(rows[1].equity).toBe('1094.8026');
    await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
  });

  it('the truth report puts each settlement on the lead trades it was taken on, pro rata to their realised profit, to the cent: it reconciles with the performance', async () => {
    const botId = await createManagedBot(t, admin);
    const u = await managedSubscriber(t);
    const f = (await follow(t, u, botId, { investment: '1000' })) as { id: string };
    await ds.query(`UPDATE managed_bot_follows SET started_at = '2026-09-01' WHERE id = $1`, [f.id]);
    // The fills are moved into the month they are meant for (the settled periods are October to December).
    const dated = async (ref: string, buyAt: string, closeAt: string) => {
      await ds.query(`UPDATE orders SET closed_at = $3 WHERE managed_bot_id = $1 AND source_ref LIKE '%' || $2 || '%'`, [botId, (await signalRow(botId, `${ref}-buy`)), buyAt]);
      await ds.query(`UPDATE orders SET closed_at = $3 WHERE managed_bot_id = $1 AND source_ref LIKE '%' || $2 || '%'`, [botId, (await signalRow(botId, `${ref}-close`)), closeAt]);
    };
    // October: two gains, each on half the investment. 500 at 50,000 → 0.00999 BTC kept; at 55,000: 549.45 − 0.54945 − 500 = +48.90055.
    await roundTrip(botId, 'oct-a', '50000', '55000', '0.5');
    await dated('oct-a', '2026-10-03T10:00:00Z', '2026-10-04T10:00:00Z');
    await roundTrip(botId, 'oct-b', '50000', '52000', '0.5'); // 519.48 − 0.51948 − 500 = +18.96052
    await dated('oct-b', '2026-10-10T10:00:00Z', '2026-10-11T10:00:00Z');
    await job.run(new Date('2026-11-05T12:00:00Z'));
    // November: a loss. December: a recovery above the October high.
    await roundTrip(botId, 'nov', '50000', '45000'); // −101.7991
    await dated('nov', '2026-11-10T10:00:00Z', '2026-11-11T10:00:00Z');
    await job.run(new Date('2026-12-05T12:00:00Z'));
    await roundTrip(botId, 'dec', '40000', '48000'); // 1000 at 40,000, sold at 48,000: +197.6012
    await dated('dec', '2026-12-10T10:00:00Z', '2026-12-11T10:00:00Z');
    await job.run(new Date('2027-01-05T12:00:00Z'));

    const owed = (await ledger(f.id)).map((r) => r.owed);
    // October: 20 % of 67.86107 = 13.572214 → 13.57; November nothing; December: 20 % of the part above the October high.
    expect(owed.slice(0, 2)).toEqual(['13.57', '0.00']);
    const report = await t.request<{ items: Array<{ signal_id: string; profit_share: string | null }>; totals: { profit_share_paid: string } }>('GET', `/api/managed-bot/${botId}/trades`, { token: u.access_token });
    expect([report.status, lastError(t)]).toEqual([200, '']);
    const share = new Map(report.body.items.map((i) => [i.signal_id, i.profit_share]));
    // October's 13.57 split over its two profitable trades, pro rata: 13.57 × 48.90055 / 67.86107 = 9.7785… → 9.77; the rest 3.80 on the last.
    expect(share.get('oct-a-close')).toBe('9.77');
    expect(share.get('oct-b-close')).toBe('3.80');
    expect(share.get('nov-close')).toBe('0.00');
    expect(share.get('dec-close')).toBe(owed[2]);
    expect(share.get('oct-a-buy')).toBe('0.00');
    const sum = report.body.items.reduce((s, i) => s.plus(i.profit_share ?? 0), new Decimal(0)).toFixed(2);
    const perf = await t.request<Array<{ managed_bot_id: string; profit_share_paid: string }>>('GET', '/api/managed-bot/performance', { token: u.access_token });
    const paid = perf.body.find((p) => p.managed_bot_id === botId)!.profit_share_paid;
    expect(sum).toBe(paid);
    expect(report.body.totals.profit_share_paid).toBe(paid);
    expect(paid).toBe(owed.reduce((s, o) => s.plus(o), new Decimal(0)).toFixed(2));
    await t.request('POST', `/api/managed-bot/${botId}/unsubscribe`, { token: u.access_token, body: {} });
  });

  // Before the two-workers test: its second Nest app in this process replaces passport's 'jwt' strategy (another secret).
  it('the month\'s run meets an unsubscribe of the same follower (the unsubscribe holds the follow): the gain is charged once, the mark raised once', async () => {
    const botId = await createManagedBot(t, admin, { min_investment: '10' });
    await seedFollowers(ds, botId, 1, { investment: '100', tag: 'unsub-race' });
    await ds.query(`UPDATE managed_bot_follows SET started_at = '2026-05-01' WHERE managed_bot_id = $1`, [botId]);
    await roundTrip(botId, 'jun', '50000', '55000'); // 100 → +9.78011
    const [{ id: fid }] = (await ds.query(`SELECT id FROM managed_bot_follows WHERE managed_bot_id = $1`, [botId])) as Array<{ id: string }>;
    await t.app.get(FollowerPerformanceService).recompute([fid]);
    const settlements = t.app.get(ProfitShareSettlementService);
    const { previous, current } = await settlements.monthsAround(new Date('2026-07-03T12:00:00Z'));
    // The unsubscribe's transaction (what POST /managed-bot/{id}/unsubscribe runs): the follow locked,
    // the month so far settled, the follow ended — and the month's run starts before it commits.
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      await qr.query(`SELECT id FROM managed_bot_follows WHERE id = $1 FOR UPDATE`, [fid]);
      await t.app.get(FollowsService).endFollows(qr.manager, [fid], 'user', false);
      const monthly = settlements.settleMonth(previous, current);
      await new Promise((r) => setTimeout(r, 500));
      await qr.commitTransaction();
      await monthly;
    } finally {
      await qr.release();
    }
    // Before: the month's run read the follow unlocked (mark 100), charged the same 9.78 gain again
    // and raised the mark to 119.56.
    const payments = (await ds.query(`SELECT amount_usd::text FROM payments WHERE managed_bot_id = $1`, [botId])) as Array<{ amount_usd: string }>;
    expect(payments).toEqual([{ amount_usd: '1.96' }]);
    const [{ mark }] = (await ds.query(`SELECT high_water_mark::text AS mark FROM managed_bot_follows WHERE id = $1`, [fid])) as Array<{ mark: string }>;
    expect(mark).toBe('109.780110000000000000');
  });

  it('two workers (and the api\'s own job) settling the same month at once: one ledger row, one payment and one raise of the mark per follower', async () => {
    const botId = await createManagedBot(t, admin, { min_investment: '10' });
    const users = await seedFollowers(ds, botId, 40, { investment: '100', tag: 'race' });
    await ds.query(`UPDATE managed_bot_follows SET started_at = '2026-08-01' WHERE managed_bot_id = $1`, [botId]);
    await roundTrip(botId, 'sep', '50000', '55000'); // each: 100 → +9.78011
    const other = await bootManagedWorker(t.db.url);
    const third = await bootManagedWorker(t.db.url);
    try {
      const at = new Date('2026-10-03T12:00:00Z');
      await Promise.all([job.run(at), other.job.run(at), third.job.run(at), other.job.run(at)]);
    } finally {
      await other.close();
      await third.close();
    }
    const [counts] = (await ds.query(
      `SELECT count(*)::int AS settlements, count(DISTINCT follow_id)::int AS follows,
              (SELECT count(*)::int FROM payments WHERE managed_bot_id = $1) AS payments,
              (SELECT array_agg(DISTINCT high_water_mark::text) FROM managed_bot_follows WHERE managed_bot_id = $1) AS marks
         FROM managed_profit_share_settlements WHERE managed_bot_id = $1`,
      [botId],
    )) as Array<{ settlements: number; follows: number; payments: number; marks: string[] }>;
    expect(counts).toEqual({ settlements: 40, follows: 40, payments: 40, marks: ['109.780110000000000000'] });
    const amounts = (await ds.query(`SELECT DISTINCT amount_usd::text FROM payments WHERE managed_bot_id = $1`, [botId])) as Array<{ amount_usd: string }>;
    expect(amounts).toEqual([{ amount_usd: '1.96' }]);
    expect(users).toHaveLength(40);
    await ds.query(`UPDATE managed_bot_follows SET status = 'ended', ended_at = now() WHERE managed_bot_id = $1`, [botId]);
  });

  const signalRow = async (botId: string, signalId: string): Promise<string> =>
    ((await ds.query(`SELECT id FROM managed_bot_signals WHERE managed_bot_id = $1 AND signal_id = $2`, [botId, signalId])) as Array<{ id: string }>)[0].id;
});
