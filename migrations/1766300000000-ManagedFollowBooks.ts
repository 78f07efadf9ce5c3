import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The followers' FIFO books carried forward (libs/managed-bots follow-books.ts): per (user, managed
 * bot, mode), the FIFO fold's state (open lots, realised PnL, the drawdown curve's peak, realised PnL
 * per recent day) over every final fill before `horizon`, so a recompute reads only the fills from
 * the horizon on. `timezone` is the zone its days were cut in (a state of another zone is rebuilt).
 * Two indexes serve that read: a book's fills by time, and its unfinished orders with a fill (they
 * hold the horizon back).
 */
export class ManagedFollowBooks1766300000000 implements MigrationInterface {
  name = 'ManagedFollowBooks1766300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE managed_follow_books (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        managed_bot_id uuid NOT NULL REFERENCES managed_bots(id),
        mode varchar(8) NOT NULL,
        horizon timestamptz NOT NULL,
        timezone text NOT NULL,
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, managed_bot_id, mode)
      )`);
    await q.query(
      `CREATE INDEX orders_managed_fill_at_idx ON orders (managed_bot_id, user_id, (coalesce(closed_at, updated_at)))
        WHERE managed_bot_id IS NOT NULL AND bot_id IS NULL AND filled > 0`,
    );
    await q.query(
      `CREATE INDEX orders_managed_unfinished_fill_idx ON orders (managed_bot_id, user_id, updated_at)
        WHERE managed_bot_id IS NOT NULL AND bot_id IS NULL AND filled > 0 AND closed_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX orders_managed_unfinished_fill_idx`);
    await q.query(`DROP INDEX orders_managed_fill_at_idx`);
    await q.query(`DROP TABLE managed_follow_books`);
  }
}
