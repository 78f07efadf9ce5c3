import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '@torgovo/core';
import { insertProfitSharePaymentsSql } from '@torgovo/payments';

export type SettlementKind = 'monthly' | 'unsubscribe';

export interface SettlementRow {
  follow_id: string;
  period_start: Date;
  period_end: Date;
  kind: SettlementKind;
  equity: string;
  high_water_mark_before: string;
  high_water_mark_after: string;
  owed: string;
  payment_id: string | null;
}

/**
 * Settles the profit share in ONE statement for every follow it covers (profit-share.ts is the same
 * rule in TypeScript): owed = rate × max(0, equity − mark), rounded to the cent; the ledger row is
 * unique per (follow, period_start), so a period is settled once whichever worker (or how many)
 * runs it — the loser of a race inserts nothing and so creates no payment and moves no mark; a
 * payment record (libs/payments' fragment) for what is owed; the mark raised by the difference
 * (added, not overwritten, so a top-up committed meanwhile is kept). Reads the performance snapshot:
 * recompute first.
 */
@Injectable()
export class ProfitShareSettlementService {
  private readonly logger = new Logger(ProfitShareSettlementService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** The month boundaries in APP_TIMEZONE: the month containing `at` and the one before it. */
  async monthsAround(at: Date, m: EntityManager = this.ds.manager): Promise<{ previous: Date; current: Date; next: Date }> {
    const [row] = (await m.query(
      `SELECT (date_trunc('month', $1::timestamptz AT TIME ZONE $2) - interval '1 month') AT TIME ZONE $2 AS previous,
              date_trunc('month', $1::timestamptz AT TIME ZONE $2) AT TIME ZONE $2 AS current,
              (date_trunc('month', $1::timestamptz AT TIME ZONE $2) + interval '1 month') AT TIME ZONE $2 AS next`,
      [at, this.config.env.APP_TIMEZONE],
    )) as Array<{ previous: Date; current: Date; next: Date }>;
    return row;
  }

  /** Every active follow that started before `periodEnd` and has no settlement for `periodStart` yet. */
  async settleMonth(periodStart: Date, periodEnd: Date): Promise<SettlementRow[]> {
    const rows = await this.run(this.ds.manager, `f.status = 'active' AND f.started_at < $2`, [periodStart, periodEnd, 'monthly'], new Map());
    if (rows.length > 0) this.logger.log({ period_start: periodStart, settled: rows.length, payments: rows.filter((r) => r.payment_id).length }, 'Profit share settled');
    return rows;
  }

  /**
   * The follows that end now (unsubscribe, stop-loss): the month so far, in the caller's transaction.
   * `closing`: per follow, what valuing the positions its closing orders sell at the market price
   * instead of their last fill adds to its net PnL (FollowClosingPrices; absent: nothing).
   */
  async settleEnding(m: EntityManager, followIds: readonly string[], at: Date, closing: ReadonlyMap<string, string> = new Map()): Promise<SettlementRow[]> {
    if (followIds.length === 0) return [];
    const { current } = await this.monthsAround(at, m);
    return this.run(m, `f.id = ANY($6::uuid[])`, [current, at, 'unsubscribe'], closing, [followIds]);
  }

  private async run(m: EntityManager, filter: string, params: unknown[], closing: ReadonlyMap<string, string>, extra: unknown[] = []): Promise<SettlementRow[]> {
    return (await m.query(
      `WITH due AS (
         SELECT f.id AS follow_id, f.user_id, f.managed_bot_id, f.investment, f.net_pnl + coalesce(c.pnl, 0) AS net_pnl,
                f.investment + f.net_pnl + coalesce(c.pnl, 0) AS equity,
                f.high_water_mark AS mark, f.profit_share_pct AS rate,
                round(greatest(f.investment + f.net_pnl + coalesce(c.pnl, 0) - f.high_water_mark, 0) * f.profit_share_pct / 100, 2) AS owed
           FROM managed_bot_follows f
           LEFT JOIN unnest($4::uuid[], $5::numeric[]) AS c(follow_id, pnl) ON c.follow_id = f.id
          WHERE ${filter}
            AND NOT EXISTS (SELECT 1 FROM managed_profit_share_settlements s WHERE s.follow_id = f.id AND s.period_start = $1)
          -- Locked as read, in id order: an unsubscribe, a stop-loss or an investment change holding a
          -- follow commits first, and the follow is then read again (ended: skipped; its new mark: used).
          -- Read unlocked, the month's run charged a gain an unsubscribe had just settled, and raised
          -- the mark twice.
          ORDER BY f.id
          FOR UPDATE OF f
       ), priced AS (
         SELECT due.*, greatest(equity, mark) AS mark_after, CASE WHEN owed > 0 THEN gen_random_uuid() END AS payment_id,
                $1::timestamptz AS period_start, $2::timestamptz AS period_end
           FROM due
       ), settled AS (
         INSERT INTO managed_profit_share_settlements
           (follow_id, user_id, managed_bot_id, kind, period_start, period_end, investment, net_pnl, equity, high_water_mark_before, high_water_mark_after, rate, owed, payment_id)
         SELECT follow_id, user_id, managed_bot_id, $3, period_start, period_end, investment, net_pnl, equity, mark, mark_after, rate, owed, payment_id FROM priced
         ON CONFLICT (follow_id, period_start) DO NOTHING
         RETURNING follow_id, user_id, managed_bot_id, kind, period_start, period_end, equity::text, high_water_mark_before::text,
                   high_water_mark_after::text, owed::text, payment_id
       ), paid AS (${insertProfitSharePaymentsSql('settled')}),
       marked AS (
         UPDATE managed_bot_follows f
            SET high_water_mark = f.high_water_mark + (s.high_water_mark_after::numeric - s.high_water_mark_before::numeric), updated_at = now()
           FROM settled s WHERE f.id = s.follow_id
         RETURNING f.id
       )
       SELECT s.follow_id, s.period_start, s.period_end, s.kind, s.equity, s.high_water_mark_before, s.high_water_mark_after, s.owed, s.payment_id
         FROM settled s, (SELECT count(*) FROM paid) p, (SELECT count(*) FROM marked) mk`,
      [...params, [...closing.keys()], [...closing.values()], ...extra],
    )) as SettlementRow[];
  }
}
