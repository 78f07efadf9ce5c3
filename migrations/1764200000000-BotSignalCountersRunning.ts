import { MigrationInterface, QueryRunner } from 'typeorm';

/** Adds the events of `source` (a table of webhook_events rows) to their bots' totals. */
function addCountsFrom(source: string): string {
  return `INSERT INTO bot_signal_rollups AS r (bot_id, signals_received, orders_created, last_signal_at)
    SELECT bot_id, count(*), count(*) FILTER (WHERE outcome = 'accepted'), max(received_at)
      FROM ${source} WHERE bot_id IS NOT NULL GROUP BY bot_id
    ON CONFLICT (bot_id) DO UPDATE SET
      signals_received = r.signals_received + EXCLUDED.signals_received,
      orders_created = r.orders_created + EXCLUDED.orders_created,
      last_signal_at = GREATEST(r.last_signal_at, EXCLUDED.last_signal_at)`;
}

/**
 * Bot counters (GET /bots: signals_received, orders_created, last_signal_at) were counted from the
 * request log on every read (90 days of events per bot: ~85 ms at 500k events). bot_signal_rollups
 * now holds the running totals of every event ever recorded, kept by a trigger on the log, so a read
 * is one primary-key row whatever the history; the retention sweep no longer adds what it deletes.
 * Per statement with a transition table, like orders_notify_pending: whatever path writes an event
 * (the accept statement, a duplicate, a rejection) is counted, in the same transaction.
 */
export class BotSignalCountersRunning1764200000000 implements MigrationInterface {
  name = 'BotSignalCountersRunning1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION webhook_events_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${addCountsFrom('new_events')};
        RETURN NULL;
      END
      $$`);
    // Inserts wait from here to commit, so the backfill below and the trigger count each event once.
    await q.query(`LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`
      CREATE TRIGGER webhook_events_count AFTER INSERT ON webhook_events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_count()`);
    // Until now the table held only what retention had deleted from the log: add what the log still holds.
    await q.query(addCountsFrom('webhook_events'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`DROP TRIGGER webhook_events_count ON webhook_events`);
    await q.query(`DROP FUNCTION webhook_events_count()`);
    // Back to "what retention deleted": take out what the log still holds (last_signal_at stays a bound).
    await q.query(`
      UPDATE bot_signal_rollups r SET signals_received = r.signals_received - e.n, orders_created = r.orders_created - e.accepted
        FROM (SELECT bot_id, count(*) AS n, count(*) FILTER (WHERE outcome = 'accepted') AS accepted
                FROM webhook_events WHERE bot_id IS NOT NULL GROUP BY bot_id) e
       WHERE r.bot_id = e.bot_id`);
  }
}
