import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DateTime } from 'luxon';
import { AppConfig, Decimal } from '@torgovo/core';
import { followBookKey, PerformanceEngine, PerformanceFigures } from '@torgovo/trading';
import { bookKeyOf, FollowBooks } from './follow-books';

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
 * The followers' performance snapshot on managed_bot_follows, from the FIFO performance engine's
 * rules (libs/trading/src/performance; book = (user, managed bot)), carried forward per book
 * (FollowBooks) so a recompute reads only new fills; then one UPDATE from arrays.
 * net_pnl = realised + unrealised (marked to the book's last fill) minus what the book had when the
 * follow started; current_balance = investment + net_pnl.
 */
@Injectable()
export class FollowerPerformanceService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly engine: PerformanceEngine,
    private readonly books: FollowBooks,
    private readonly config: AppConfig,
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
   * Incremental (FollowBooks): each book's FIFO state is carried forward, so this reads only the
   * fills since the book's horizon; the figures are the full engine's. Then one UPDATE from arrays,
   * the open positions valued in SQL as the engine values them. Returns how many follows were updated.
   */
  async recompute(followIds: readonly string[] | null = null, m: EntityManager | DataSource = this.ds): Promise<number> {
    const follows = (await m.query(
      followIds !== null
        ? `SELECT id, user_id, managed_bot_id, mode FROM managed_bot_follows WHERE id = ANY($1::uuid[])`
        : `SELECT f.id, f.user_id, f.managed_bot_id, f.mode FROM managed_bot_follows f
            WHERE f.status = 'active'
              AND (f.last_calculated IS NULL OR f.last_calculated < now() - interval '1 day'
                   OR EXISTS (SELECT 1 FROM orders o
                               WHERE o.managed_bot_id = f.managed_bot_id AND o.user_id = f.user_id AND o.bot_id IS NULL AND o.filled > 0
                                 AND coalesce(o.closed_at, o.updated_at) > f.last_calculated - ${this.books.marginSql}))`,
      followIds === null ? [] : [followIds],
    )) as FollowKey[];
    if (follows.length === 0) return 0;
    // realised_30d: the last 30 days in APP_TIMEZONE, today included (as the engine's daily). The
    // UTC date of 30 days ago counted 31 days, and 32 in the hours a zone east of UTC is a day ahead.
    const since = last30DaysFrom(new Date(), this.config.env.APP_TIMEZONE);
    const figures = await this.books.figures(m, follows, since);
    const ids: string[] = [];
    const cols: Record<'realised' | 'profit' | 'loss' | 'dd' | 'r30', Array<string | null>> = { realised: [], profit: [], loss: [], dd: [], r30: [] };
    const counts: Record<'trades' | 'wins', number[]> = { trades: [], wins: [] };
    const pos: Record<'id' | 'amount' | 'num' | 'den' | 'px', string[]> = { id: [], amount: [], num: [], den: [], px: [] };
    for (const f of follows) {
      const fig = figures.get(bookKeyOf(f))!;
      ids.push(f.id);
      cols.realised.push(fig.realised_pnl);
      cols.profit.push(fig.gross_profit);
      cols.loss.push(fig.gross_loss);
      // As from the engine: no drawdown figure for a book without a fill.
      cols.dd.push(fig.fills > 0 ? fig.max_drawdown : null);
      cols.r30.push(fig.realised_since);
      counts.trades.push(fig.trades);
      counts.wins.push(fig.wins);
      for (const p of fig.positions) {
        pos.id.push(f.id);
        pos.amount.push(p.amount);
        pos.num.push(p.num);
        pos.den.push(p.den);
        pos.px.push(p.last_px);
      }
    }
    // The rows locked first, in id order, as the month's settlement (ProfitShareSettlementService) and
    // the stop-loss lock them: two workers' recompute and settlement at a month's turn otherwise took
    // the same follows in different orders (a deadlock, seen in CI).
    const write = async (tx: EntityManager): Promise<number> => {
      await tx.query(`SELECT id FROM managed_bot_follows WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids]);
      const [, n] = (await tx.query(
      `WITH pos AS (
         -- The engine's unrealised PnL: amount × (last price − Σ cost / Σ quantity), per position rounded to 18.
         SELECT id, sum(round(coalesce(amount * (px - num / nullif(den, 0)), 0), 18)) AS unrealised
           FROM unnest($9::uuid[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[]) AS p(id, amount, num, den, px)
          GROUP BY id
       ), v AS (
         SELECT v.*, v.realised + coalesce(pos.unrealised, 0) AS net
           FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::int[], $7::int[], $8::numeric[])
                AS v(id, realised, profit, loss, dd, trades, wins, r30)
           LEFT JOIN pos ON pos.id = v.id
       )
       UPDATE managed_bot_follows t
          SET net_pnl = v.net - t.pnl_base, total_profit = v.profit - t.profit_base, total_loss = v.loss - t.loss_base,
              current_balance = t.investment + v.net - t.pnl_base, trades = v.trades, wins = v.wins, max_drawdown = v.dd,
              realised_30d = v.r30, last_calculated = now()
         FROM v
        WHERE t.id = v.id`,
      [ids, cols.realised, cols.profit, cols.loss, cols.dd, counts.trades, counts.wins, cols.r30, pos.id, pos.amount, pos.num, pos.den, pos.px],
      )) as [unknown, number];
      return n;
    };
    return m instanceof DataSource ? m.transaction(write) : write(m);
  }
}

/** The first of the last 30 calendar days in `zone`, today included (YYYY-MM-DD). */
export function last30DaysFrom(now: Date, zone: string): string {
  return DateTime.fromJSDate(now).setZone(zone).minus({ days: 29 }).toISODate()!;
}
