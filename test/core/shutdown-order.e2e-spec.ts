import { EmailDispatcher, Mailer } from '@torgovo/notifications';
import { TradingManager } from '@torgovo/trading';
import { startSmtp } from '../fakes/smtp/local-smtp-server';
import { createTestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { pauseOnce } from '../support/pause-once';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Shutdown of a worker in the middle of a periodic run: Nest destroys modules one at a time, and the
 * periodic jobs' modules come before the trading manager's. A job's stop no longer waits for its run
 * there (the run ends at its next boundary, and is waited for before the pool closes), so the trading
 * manager halts at once instead of claiming orders until the drain ends or the process is killed.
 */
describe('shutdown during a periodic run (e2e)', () => {
  it('the trading manager halts while an e-mail send is still under way; the drain stops after that send and hands its other rows back', async () => {
    const smtp = await startSmtp();
    const t = await createTestApp({ ...WORKER_JOBS_BY_HAND, TRADING_MANAGER_ENABLED: 'true', EMAIL_DISPATCH_INTERVAL_SECONDS: '0', SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
    let closed = false;
    let send: ReturnType<typeof pauseOnce> | undefined;
    try {
      const u = await t.register();
      const ds = t.db.dataSource;
      const queued = (await ds.query(
        `INSERT INTO notification_outbox (user_id, channel, kind, dedupe_key, data, created_at, next_attempt_at)
         SELECT $1::uuid, 'email', 'order_filled', 'shutdown:' || $1::text || ':' || i, '{}', now() - (4 - i) * interval '1 second', now() - (4 - i) * interval '1 second'
           FROM generate_series(1, 3) AS i RETURNING id`,
        [u.id],
      )) as Array<{ id: string }>;
      send = pauseOnce(t.app.get(Mailer), 'send', 'before');
      const manager = t.app.get(TradingManager) as unknown as { stopping: boolean };
      expect(manager.stopping).toBe(false);

      const ticking = t.app.get(EmailDispatcher).tick();
      await send.reached;
      const closing = t.app.close().then(() => (closed = true));
      // Before: close() waited in the dispatcher's onModuleDestroy for the whole drain; the trading
      // manager, destroyed after it, went on polling and claiming orders meanwhile.
      for (let i = 0; i < 100 && !manager.stopping; i++) await sleep(20);
      expect(manager.stopping).toBe(true);
      expect(closed).toBe(false);
      send.release();
      await Promise.all([ticking, closing]);

      // The send under way finished and was recorded; the two rows not tried were handed back at once.
      const rows = (await ds.query(`SELECT status, attempts, next_attempt_at <= now() AS due FROM notification_outbox WHERE id = ANY($1::uuid[]) ORDER BY created_at`, [
        queued.map((q) => q.id),
      ])) as Array<{ status: string; attempts: number; due: boolean }>;
      expect(rows).toEqual([
        { status: 'sent', attempts: 1, due: false },
        { status: 'pending', attempts: 0, due: true },
        { status: 'pending', attempts: 0, due: true },
      ]);
      expect(smtp.mails.filter((m) => m.to.includes(u.email))).toHaveLength(1);
    } finally {
      send?.release();
      jest.restoreAllMocks();
      if (!closed) await t.app.close().catch(() => undefined);
      await t.db.drop();
      await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    }
  });
});
