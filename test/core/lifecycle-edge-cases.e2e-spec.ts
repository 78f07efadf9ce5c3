import { dataSourceOptions, RetentionSweeper } from '@torgovo/core';
import { PaperExchangeGateway } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser } from '../trading/support';

describe('retention, transaction guard and paper locks: edge cases found in review', () => {
  describe('with the app (retention, transaction guard)', () => {
    let t: TestApp;
    let ds: DataSource;
    const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => ds.query(sql, params) as Promise<T[]>;

    beforeAll(async () => {
      t = await createTestApp({
        ...WORKER_JOBS_BY_HAND,
      });
      ds = t.app.get(DataSource);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('refresh-token retention keeps the spent tokens of a family still in use, so a replayed stolen token still revokes the family', async () => {
      const u = await t.register();
      // The legitimate client rotates: T1 (spent) -> T2 (current, valid).
      const r1 = await t.request<{ refresh_token: string }>('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } });
      expect(r1.status).toBe(200);
      const current = r1.body.refresh_token;
      // T1 expired 8 days ago (REFRESH_TOKEN_RETENTION_DAYS = 7); the family is alive through T2.
      await q(`UPDATE refresh_tokens SET expires_at = now() - interval '8 days' WHERE user_id = $1 AND used_at IS NOT NULL`, [u.id]);
      await t.app.get(RetentionSweeper).tick(new Date(Date.now() + 1000));
      // A copy of T1 comes back: TokensService.spend checks used_at BEFORE expiry, so without the sweep this is
      // reuse detection and the whole family (T2 too) is revoked — also after the sweep, which keeps T1.
      expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: u.refresh_token } })).status).toBe(401);
      const audit = await q<{ n: number }>(`SELECT count(*)::int AS n FROM audit_logs WHERE user_id = $1 AND event_type = 'auth.refresh_reuse'`, [u.id]);
      expect(audit[0].n).toBe(1);
      expect((await t.request('POST', '/api/auth/refresh', { body: { refresh_token: current } })).status).toBe(401);
    });

    it('transaction guard: a promise started inside a transaction that queries after the commit is not refused', async () => {
      let later!: Promise<unknown>;
      await ds.transaction(async (m) => {
        await m.query('SELECT 1');
        // e.g. a debounced notification / cache refresh scheduled from inside a transaction
        later = new Promise((resolve) => setTimeout(resolve, 50)).then(() => ds.query('SELECT 1 AS one'));
        later.catch(() => undefined);
      });
      // The transaction is committed and its connection released: no nested connection any more.
      await expect(later).resolves.toEqual([{ one: 1 }]);
    });
  });

  describe('PaperExchangeGateway', () => {
    let db: TestDatabase;
    let ds: DataSource;

    beforeAll(async () => {
      db = await createTestDatabase();
      ds = await new DataSource({ ...dataSourceOptions(db.url, 20, 'torgovo-review-paper'), entities: [] }).initialize();
    });
    afterAll(async () => {
      if (ds?.isInitialized) await ds.destroy();
      await db?.drop();
    });

    const waiting = async (n: number) => {
      for (let i = 0; i < 200; i++) {
        const rows: Array<{ n: number }> = await ds.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'torgovo-review-paper' AND wait_event_type = 'Lock'`,
        );
        if (rows[0].n >= n) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`never saw ${n} waiting`);
    };

    it('cancel of a resting limit racing a fill that crosses it does not deadlock (both take the balances before the order row)', async () => {
      const paper = new PaperExchangeGateway(ds, await createUser(ds));
      await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.1', price: '50000', clientOrderId: 'seed' });
      const resting = await paper.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.01', price: '49000', clientOrderId: 'rest' });
      expect(resting.status).toBe('open');

      // Something else (here: a test transaction) briefly holds the resting order's row, so both calls queue on it.
      const blocker = ds.createQueryRunner();
      await blocker.connect();
      await blocker.startTransaction();
      await blocker.query(`SELECT id FROM paper_orders WHERE id = $1 FOR UPDATE`, [resting.exchangeOrderId]);
      try {
        const cancel = paper.cancelOrder({ id: resting.exchangeOrderId, symbol: 'BTC/USDT' });
        await waiting(1);
        const cross = paper.createOrder({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.01', price: '48000', clientOrderId: 'cross' });
        await waiting(2);
        await blocker.commitTransaction();
        const outcomes = await Promise.allSettled([cancel, cross]);
        const reasons = outcomes.map((o) => (o.status === 'rejected' ? String((o.reason as Error).message) : 'ok'));
        // Expected: both succeed (the cancel wins the row; the sell fills without the canceled limit).
        expect(reasons).toEqual(['ok', 'ok']);
      } finally {
        if (blocker.isTransactionActive) await blocker.rollbackTransaction();
        await blocker.release();
      }
    });
  });
});
