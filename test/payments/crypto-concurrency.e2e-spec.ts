import { bootCryptoWorker, createCryptoHarness, CryptoHarness } from './crypto-support';

/**
 * "A deposit settles at most one payment" and "a payment completes once" are held by the
 * database, not by the advisory lock: two checkers matching at the same moment (lock bypassed
 * with runOnce/matchDeposits) settle one payment once. Real PostgreSQL, two DataSources.
 */
describe('Crypto payments: two PaymentCheckers at once', () => {
  let h: CryptoHarness;
  let a: Awaited<ReturnType<typeof bootCryptoWorker>>;
  let b: Awaited<ReturnType<typeof bootCryptoWorker>>;

  beforeAll(async () => {
    h = await createCryptoHarness();
    // One deposit per round each, so the two workers claim different deposits (SKIP LOCKED).
    const env = { ...h.env, CRYPTO_MATCH_BATCH: '1' };
    a = await bootCryptoWorker(h.t.db, env);
    b = await bootCryptoWorker(h.t.db, env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await h?.close();
  });

  it('two deposits fitting one payment, matched by two workers while the payment row is busy: one completion, the other deposit unmatched', async () => {
    const u = await h.t.register();
    const init = await h.initialize(u.access_token, { plan_id: h.plans.enterprise, crypto_currency: 'USDT' });
    const t0 = Date.now();
    const d1 = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount, ts: t0 });
    const d2 = h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: init.body.crypto_amount, ts: t0 + 1 });
    await a.checker.pollDeposits(new Date());

    // Hold the payment row: both workers get as far as completing it, then wait — the first on the
    // row lock, the second on the user's billing lock, which the first takes before the row.
    const holder = h.t.db.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT id FROM payments WHERE id = $1 FOR UPDATE', [init.body.payment_id]);
    const now = new Date();
    const runs = Promise.all([a.checker.matchDeposits(now), b.checker.matchDeposits(now)]);
    try {
      await waitFor(async () => {
        const rows = (await h.t.db.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND (query LIKE '%WITH pick AS%' OR query LIKE '%pg_advisory_xact_lock%')`,
        )) as Array<{ n: number }>;
        return rows[0].n >= 2;
      });
    } finally {
      if (process.env.DEBUG_LOCKS) console.log(await h.t.db.dataSource.query(`SELECT pid, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE datname = current_database()`));
      await holder.commitTransaction();
      await holder.release();
    }
    const [ra, rb] = await runs;
    expect(ra.completed + rb.completed).toBe(1);

    // The loser's deposit is classified on the next round: nothing open fits it any more.
    await a.checker.matchDeposits(new Date());
    const rows = (await h.t.db.dataSource.query(
      'SELECT dep_id, match_status, payment_id FROM crypto_deposits WHERE dep_id = ANY($1) ORDER BY dep_id',
      [[d1.depId, d2.depId]],
    )) as Array<{ dep_id: string; match_status: string; payment_id: string | null }>;
    expect(rows.map((r) => r.match_status).sort()).toEqual(['matched', 'unmatched']);
    expect(rows.find((r) => r.match_status === 'matched')?.payment_id).toBe(init.body.payment_id);
    expect(await h.one('SELECT count(*)::int AS n FROM subscription_periods WHERE payment_reference = $1', [init.body.payment_id])).toEqual({ n: 1 });
    expect(await h.one(`SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'payment.completed' AND data->>'payment_id' = $1`, [init.body.payment_id])).toEqual({ n: 1 });
  });

  it('many payments and deposits, three checkers racing full ticks: every payment completed exactly once, every deposit used once', async () => {
    const users = await Promise.all(Array.from({ length: 8 }, () => h.t.register()));
    const inits = await Promise.all(users.map((u, i) => h.initialize(u.access_token, { plan_id: i % 2 ? h.plans.enterprise : h.plans.managed_basic, crypto_currency: 'USDT' })));
    for (const i of inits) {
      h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: i.body.crypto_amount });
      // The same payer sends twice.
      h.deposit({ ccy: 'USDT', chain: 'USDT-TRC20', amt: i.body.crypto_amount });
    }
    await Promise.all([a.checker.runOnce(), b.checker.runOnce(), h.checker.runOnce(), a.checker.runOnce()]);
    await a.checker.runOnce();
    const ids = inits.map((i) => i.body.payment_id);
    const done = (await h.t.db.dataSource.query(`SELECT status, count(*)::int AS n FROM payments WHERE id = ANY($1) GROUP BY status`, [ids])) as Array<{ status: string; n: number }>;
    expect(done).toEqual([{ status: 'completed', n: 8 }]);
    const periods = (await h.t.db.dataSource.query(`SELECT count(*)::int AS n FROM subscription_periods WHERE payment_reference = ANY($1)`, [ids])) as Array<{ n: number }>;
    expect(periods[0].n).toBe(8);
    const used = (await h.t.db.dataSource.query(`SELECT count(*)::int AS n, count(DISTINCT payment_id)::int AS d FROM crypto_deposits WHERE payment_id = ANY($1)`, [ids])) as Array<{ n: number; d: number }>;
    expect(used[0]).toEqual({ n: 8, d: 8 });
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}
