import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PnL by day for GET /admin/trading/stats: the platform's realised PnL and traded volume per day
 * (of APP_TIMEZONE), mode and quote currency, as the FIFO performance engine (libs/trading/src/performance)
 * computes them over every book. The FIFO runs over all history, so it is never run by a request:
 * the worker's PnlDayRollupJob recomputes the table set-wise and replaces it in one transaction,
 * recording when (computed_at, shown with the figures) and under which timezone.
 */
export class PnlDayStats1765300000100 implements MigrationInterface {
  name = 'PnlDayStats1765300000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE pnl_day_stats (
        day date NOT NULL,
        mode varchar(8) NOT NULL,
        quote_currency varchar(32) NOT NULL,
        realised_pnl numeric NOT NULL,
        volume numeric NOT NULL,
        PRIMARY KEY (day, mode, quote_currency)
      )`);
    await q.query(`
      CREATE TABLE pnl_day_stats_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        computed_at timestamptz,
        timezone text NOT NULL
      )`);
    await q.query(`INSERT INTO pnl_day_stats_state (id, computed_at, timezone) VALUES (1, NULL, '')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE pnl_day_stats_state`);
    await q.query(`DROP TABLE pnl_day_stats`);
  }
}
