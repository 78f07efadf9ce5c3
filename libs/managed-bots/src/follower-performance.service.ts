import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Decimal } from '@torgovo/core';
import { followBookKey, PerformanceEngine, PerformanceFigures } from '@torgovo/trading';

interface FollowKey {
  id: string;
  user_id: string;
  managed_bot_id: string;
  mode: 'paper' | 'live';
}

/** A follower's book figures in its mode: net = realised + unrealised (fees inside), gross profit and loss. */
export function bookTotals(f: PerformanceFigures | undefined): { net: Decimal; profit: Decimal; loss: Decimal } {
  if (!f) return { net: new Decimal(0), profit: new Decimal(0), loss: new Decimal(0) };
  return { net: new Decimal(f.realised_pnl).plus(f.unrealised_pnl), profit: new Decimal(f.gross_profit), loss: new Decimal(f.gross_loss) };
}

/**
 * The followers' performance snapshot on managed_bot_follows, from the FIFO performance engine
 * (libs/trading/src/performance; book = (user, managed bot)): two statements for any number of
 * follows — the engine's one statement over all their orders, then one UPDATE from arrays.
 * net_pnl = realised + unrealised (marked to the book's last fill) minus what the book had when the
 * follow started; current_balance = investment + net_pnl.
 */
@Injectable()
export class FollowerPerformanceService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly engine: PerformanceEngine,
  ) {}

  /** The engine's figures per follow (its own mode), keyed by follow id. */
  async figures(
    follows: readonly FollowKey[],
    m: EntityManager | DataSource = this.ds,
    dailyFrom?: string,
    closingTrades = false,
  ): Promise<Map<string, PerformanceFigures | undefined>> {
    const query = { follows: follows.map((f) => ({ userId: f.user_id, managedBotId: f.managed_bot_id })), dailyFrom, closingTrades };
    const rows = follows.length === 0 ? [] : await this.engine.compute(query, m);
    const byKey = new Map(rows.map((r) => [`${r.group}|${r.mode}`, r]));
    return new Map(follows.map((f) => [f.id, byKey.get(`${followBookKey(f.user_id, f.managed_bot_id)}|${f.mode}`)]));
  }

  /**
   * `followIds` null: every active follow whose book changed — a fill recorded since its last
   * calculation (with a margin for fills committed just after it began), never calculated, or not
   * for a day (the 30-day window moves) — the other books' figures are still what they were.
   * Returns how many follows were updated.
   */
  async recompute(followIds: readonly string[] | null = null, m: EntityManager | DataSource = this.ds): Promise<number> {
    const follows = (await m.query(
      followIds !== null
        ? `SELECT id, user_id, managed_bot_id, mode FROM managed_bot_follows WHERE id = ANY($1::uuid[])`
        : `SELECT f.id, f.user_id, f.managed_bot_id, f.mode FROM managed_bot_follows f
            WHERE f.status = 'active'
              AND (f.last_calculated IS NULL OR f.last_calculated < now() - interval '1 day'
                   OR EXISTS (SELECT 1 FROM orders o
                               WHERE o.managed_bot_id = f.managed_bot_id AND o.user_id = f.user_id
                                 AND o.filled > 0 AND o.updated_at > f.last_calculated - interval '5 minutes'))`,
      followIds === null ? [] : [followIds],
    )) as FollowKey[];
    if (follows.length === 0) return 0;
    // daily: only the last 30 days (the FIFO still runs over all history), for realised_30d.
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const figures = await this.figures(follows, m, since);
    const ids: string[] = [];
    const cols: Record<'net' | 'profit' | 'loss' | 'dd' | 'r30', Array<string | null>> = { net: [], profit: [], loss: [], dd: [], r30: [] };
    const counts: Record<'trades' | 'wins', number[]> = { trades: [], wins: [] };
    for (const f of follows) {
      const fig = figures.get(f.id);
      const t = bookTotals(fig);
      ids.push(f.id);
      cols.net.push(t.net.toFixed());
      cols.profit.push(t.profit.toFixed());
      cols.loss.push(t.loss.toFixed());
      cols.dd.push(fig?.max_drawdown ?? null);
      cols.r30.push((fig?.daily ?? []).reduce((sum, d) => sum.plus(d.realised_pnl), new Decimal(0)).toFixed());
      counts.trades.push(fig?.trades ?? 0);
      counts.wins.push(fig?.wins ?? 0);
    }
    const [, n] = (await m.query(
      `UPDATE managed_bot_follows t
          SET net_pnl = v.net - t.pnl_base, total_profit = v.profit - t.profit_base, total_loss = v.loss - t.loss_base,
              current_balance = t.investment + v.net - t.pnl_base, trades = v.trades, wins = v.wins, max_drawdown = v.dd,
              realised_30d = v.r30, last_calculated = now()
         FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::int[], $7::int[], $8::numeric[])
              AS v(id, net, profit, loss, dd, trades, wins, r30)
        WHERE t.id = v.id`,
      [ids, cols.net, cols.profit, cols.loss, cols.dd, counts.trades, counts.wins, cols.r30],
    )) as [unknown, number];
    return n;
  }
}
