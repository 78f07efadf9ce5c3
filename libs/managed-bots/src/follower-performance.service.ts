import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { followerBooksSql } from '@torgovo/trading';

/**
 * The followers' performance snapshot on managed_bot_follows, recomputed in ONE statement for any
 * number of follows (all active ones on the schedule, one follow before it settles): net PnL from
 * their own fills (trading's followerBooksSql), equity = investment + net PnL.
 * total_profit / total_loss (closed trades, FIFO) belong to the shared performance engine
 * (libs/trading/src/performance, branch perf): not computed here, so they are reported as null.
 */
@Injectable()
export class FollowerPerformanceService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** `followIds` null: every active follow. Returns how many follows were updated. */
  async recompute(followIds: readonly string[] | null = null, m: EntityManager = this.ds.manager): Promise<number> {
    const [, n] = (await m.query(
      `WITH f AS (
         SELECT id, user_id, managed_bot_id, started_at, coalesce(ended_at, 'infinity'::timestamptz) AS ended_at
           FROM managed_bot_follows WHERE ${followIds === null ? `status = 'active'` : `id = ANY($1::uuid[])`}
       ), books AS (${followerBooksSql('f')})
       UPDATE managed_bot_follows t
          SET net_pnl = books.cash + books.marked,
              current_balance = t.investment + books.cash + books.marked,
              last_calculated = now()
         FROM books WHERE t.id = books.follow_id`,
      followIds === null ? [] : [followIds],
    )) as [unknown, number];
    return n;
  }
}
