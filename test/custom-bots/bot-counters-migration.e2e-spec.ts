import { randomUUID } from 'node:crypto';
import { BotSignalCountersRunning1764200000000 } from '../../migrations/1764200000000-BotSignalCountersRunning';
import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * The running bot counters: the migration backfills from the log it finds (on top of what the old
 * retention had rolled up), and from then on every event write is counted once, by the trigger.
 */
describe('bot counters: running totals (migration + trigger, real PostgreSQL)', () => {
  let db: TestDatabase;
  const migration = new BotSignalCountersRunning1764200000000();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const insertEvents = async (botId: string, outcomes: string[]): Promise<void> => {
    await db.dataSource.query(
      `INSERT INTO webhook_events (id, webhook_id, bot_id, received_at, ip, outcome, status_code)
       SELECT gen_random_uuid(), NULL, $1, now() - (i || ' minutes')::interval, '127.0.0.1', o, 202
         FROM unnest($2::varchar[]) WITH ORDINALITY AS x(o, i)`,
      [botId, outcomes],
    );
  };
  const counters = async (botId: string): Promise<{ s: number; o: number } | undefined> =>
    ((await db.dataSource.query(`SELECT signals_received::int AS s, orders_created::int AS o FROM bot_signal_rollups WHERE bot_id = $1`, [botId])) as Array<{ s: number; o: number }>)[0];

  it('counts each event once when written; down and up again rebuild the same totals from the log', async () => {
    const bot = randomUUID();
    await insertEvents(bot, ['accepted', 'accepted', 'duplicate', 'rejected']);
    await insertEvents(bot, ['accepted']);
    expect(await counters(bot)).toEqual({ s: 5, o: 3 });

    const qr = db.dataSource.createQueryRunner();
    try {
      await qr.startTransaction();
      await migration.down(qr);
      await qr.commitTransaction();
      // The old meaning: only what retention deleted (nothing yet); the trigger is gone.
      expect(await counters(bot)).toEqual({ s: 0, o: 0 });
      await insertEvents(bot, ['accepted']);
      expect(await counters(bot)).toEqual({ s: 0, o: 0 });
      // As the old retention did: 2 events (1 accepted) left the log and were rolled up.
      await db.dataSource.query(`UPDATE bot_signal_rollups SET signals_received = signals_received + 2, orders_created = orders_created + 1 WHERE bot_id = $1`, [bot]);

      await qr.startTransaction();
      await migration.up(qr);
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    // 2 rolled up before + the 6 still in the log.
    expect(await counters(bot)).toEqual({ s: 8, o: 5 });
    await insertEvents(bot, ['rejected']);
    expect(await counters(bot)).toEqual({ s: 9, o: 5 });
    // A bot with no rollup row yet gets one on its first event; events without a bot count nowhere.
    const other = randomUUID();
    await insertEvents(other, ['accepted']);
    await db.dataSource.query(`INSERT INTO webhook_events (id, received_at, outcome, status_code) VALUES (gen_random_uuid(), now(), 'rejected', 404)`);
    expect(await counters(other)).toEqual({ s: 1, o: 1 });
  });
});
