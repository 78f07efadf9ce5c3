import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, Decimal } from '@torgovo/core';
import type { ClosingTrade } from '@torgovo/trading';
import { ProfitShareSettlementResponse, toSettlementResponse } from './dto/follow.dto';
import { FollowerPerformanceResponse, FollowerTradeResponse, FollowerTradesResponse, MonthlyReturn } from './dto/performance.dto';
import { ManagedBotFollow } from './entities/managed-bot-follow.entity';
import { ManagedBotErrors } from './errors';
import { FollowerPerformanceService } from './follower-performance.service';
import { allocateProfitShare, owedAt } from './profit-share';

type LedgerRow = ProfitShareSettlementResponse & { follow_id: string; investment: string; net_pnl: string };

const round4 = (d: Decimal) => d.toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed();

/**
 * What a follower sees: their performance per followed bot and the truth report per lead trade.
 * Always the user's own follows (filtered by user_id): another user's bot id or follow is a 404 or
 * simply absent. The user's follows are recomputed first, so the figures reconcile with their
 * orders at that moment.
 */
@Injectable()
export class FollowerReportsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly performance: FollowerPerformanceService,
    private readonly config: AppConfig,
  ) {}

  async performanceOf(userId: string): Promise<FollowerPerformanceResponse[]> {
    const follows = await this.ds.getRepository(ManagedBotFollow).find({ where: { user_id: userId }, order: { created_at: 'DESC' }, take: 200 });
    if (follows.length === 0) return [];
    await this.performance.recompute(follows.filter((f) => f.status === 'active').map((f) => f.id));
    const fresh = await this.ds.getRepository(ManagedBotFollow).find({ where: { user_id: userId }, order: { created_at: 'DESC' }, take: 200 });
    const ledger = await this.ledger(fresh.map((f) => f.id));
    return fresh.map((f) => this.toPerformance(f, ledger.filter((l) => l.follow_id === f.id)));
  }

  async trades(userId: string, managedBotId: string): Promise<FollowerTradesResponse> {
    const follow = await this.ds.getRepository(ManagedBotFollow).findOne({ where: { user_id: userId, managed_bot_id: managedBotId }, order: { started_at: 'DESC' } });
    if (!follow) throw ManagedBotErrors.followNotFound();
    if (follow.status === 'active') await this.performance.recompute([follow.id]);
    const rows = (await this.ds.query(
      `SELECT s.signal_id, s.action, s.symbol, s.created_at AS signal_at, s.price::text AS lead_price,
              o.id AS order_id, o.status, o.side, o.average::text AS fill_price, o.filled::text, o.cost::text, o.fee::text, o.fee_currency,
              o.reason, o.closed_at, (extract(epoch FROM (o.closed_at - s.created_at)) * 1000)::bigint AS delay_ms
         FROM managed_bot_signals s
         LEFT JOIN orders o ON o.source = 'managed' AND o.source_ref = 'sig:' || s.id::text || ':' || $2::text
        WHERE s.managed_bot_id = $1 AND s.created_at >= $3 AND ($4::timestamptz IS NULL OR s.created_at <= $4)
        ORDER BY s.created_at DESC LIMIT 500`,
      [managedBotId, follow.id, follow.started_at, follow.ended_at],
    )) as Array<Record<string, string | null>>;
    const ledger = await this.ledger([follow.id]);
    const figures = (await this.performance.figures([follow], this.ds, undefined, true)).get(follow.id);
    const shares = this.profitShares(rows, ledger, figures?.closing_trades ?? []);
    const items = rows.map((r) => this.toTrade(r, shares));
    const [totals] = (await this.ds.query(
      `SELECT count(*)::int AS fills, coalesce(sum(o.filled * o.average), 0)::text AS volume
         FROM orders o WHERE o.user_id = $1 AND o.managed_bot_id = $2 AND o.filled > 0 AND o.created_at >= $3`,
      [userId, managedBotId, follow.started_at],
    )) as Array<{ fills: number; volume: string }>;
    const fresh = await this.ds.getRepository(ManagedBotFollow).findOneByOrFail({ id: follow.id });
    return {
      managed_bot_id: managedBotId,
      follow_id: follow.id,
      items,
      settlements: ledger.map(toSettlementResponse),
      totals: {
        fills: totals.fills,
        volume: new Decimal(totals.volume).toFixed(),
        fees: figures?.fees ?? '0',
        net_pnl: new Decimal(fresh.net_pnl).toFixed(),
        profit_share_paid: ledger.reduce((s, l) => s.plus(l.owed), new Decimal(0)).toFixed(2),
      },
    };
  }

  /**
   * Each settlement's charge over the lead trades it was taken on (profit-share.ts,
   * allocateProfitShare): the trades of this follow (its signal orders) that realised a profit in the
   * settled period, pro rata, to the cent; an unrealised gain on the period's last filled order.
   */
  private profitShares(rows: Array<Record<string, string | null>>, ledger: LedgerRow[], closing: ClosingTrade[]): Map<string, Decimal> {
    const filled = rows
      .filter((r) => r.order_id !== null && r.closed_at !== null && r.filled !== null && new Decimal(r.filled).gt(0))
      .map((r) => ({ order_id: r.order_id!, closed_at: new Date(r.closed_at as unknown as Date) }))
      .sort((a, b) => a.closed_at.getTime() - b.closed_at.getTime());
    const mine = new Set(filled.map((f) => f.order_id));
    const trades = closing.filter((c) => mine.has(c.order_id)).map((c) => ({ order_id: c.order_id, closed_at: new Date(c.closed_at), pnl: c.pnl }));
    const lastFilled = (end: Date) => filled.filter((f) => f.closed_at < end).at(-1)?.order_id ?? null;
    return allocateProfitShare(
      ledger.map((l) => ({ period_start: new Date(l.period_start), period_end: new Date(l.period_end), owed: l.owed })),
      trades,
      lastFilled,
    );
  }

  private toTrade(r: Record<string, string | null>, shares: Map<string, Decimal>): FollowerTradeResponse {
    const lead = r.lead_price !== null ? new Decimal(r.lead_price) : null;
    const fill = r.fill_price !== null && r.filled !== null && new Decimal(r.filled).gt(0) ? new Decimal(r.fill_price) : null;
    let slippage: string | null = null;
    if (lead && fill) {
      const raw = fill.minus(lead).div(lead).mul(100);
      slippage = round4(r.side === 'sell' ? raw.neg() : raw);
    }
    const skipped = r.order_id === null ? 'not_copied' : fill === null ? (r.reason ?? r.status) : null;
    return {
      signal_id: r.signal_id!,
      action: r.action!,
      symbol: r.symbol!,
      signal_at: r.signal_at as unknown as Date,
      order_id: r.order_id,
      status: r.status,
      side: r.side,
      lead_price: lead?.toFixed() ?? null,
      fill_price: fill?.toFixed() ?? null,
      filled: r.filled !== null ? new Decimal(r.filled).toFixed() : null,
      cost: r.cost !== null ? new Decimal(r.cost).toFixed() : null,
      slippage_pct: slippage,
      delay_ms: fill && r.delay_ms !== null ? Number(r.delay_ms) : null,
      fee: r.fee !== null ? new Decimal(r.fee).toFixed() : null,
      fee_currency: r.fee_currency,
      profit_share: fill && r.order_id ? (shares.get(r.order_id) ?? new Decimal(0)).toFixed(2) : null,
      skipped_reason: skipped,
    };
  }

  private async ledger(followIds: string[]): Promise<LedgerRow[]> {
    if (followIds.length === 0) return [];
    return (await this.ds.query(
      `SELECT follow_id, kind, period_start, period_end, investment::text, net_pnl::text, equity::text,
              high_water_mark_before::text, high_water_mark_after::text, owed::text, payment_id,
              to_char(period_start AT TIME ZONE $2, 'YYYY-MM') AS month
         FROM managed_profit_share_settlements WHERE follow_id = ANY($1::uuid[]) ORDER BY period_start`,
      [followIds, this.config.env.APP_TIMEZONE],
    )) as LedgerRow[];
  }

  private toPerformance(f: ManagedBotFollow, ledger: Array<LedgerRow & { month?: string }>): FollowerPerformanceResponse {
    const netPnl = new Decimal(f.net_pnl);
    const balance = new Decimal(f.investment).plus(netPnl);
    const monthly: MonthlyReturn[] = [];
    let prevPnl = new Decimal(0);
    const push = (month: string, pnl: Decimal, investment: Decimal, settled: boolean) => {
      const start = investment.plus(prevPnl);
      const ret = start.gt(0) ? pnl.minus(prevPnl).div(start).mul(100) : new Decimal(0);
      const guaranteed = f.guaranteed_monthly_return;
      monthly.push({
        month,
        return_pct: round4(ret),
        guaranteed_pct: guaranteed === null ? null : new Decimal(guaranteed).toFixed(),
        shortfall_pct: guaranteed === null ? null : round4(Decimal.max(new Decimal(guaranteed).minus(ret), 0)),
        settled,
      });
      prevPnl = pnl;
    };
    for (const l of ledger) push(l.month ?? '', new Decimal(l.net_pnl), new Decimal(l.investment), true);
    if (f.status === 'active') push(monthOf(new Date(), this.config.env.APP_TIMEZONE), netPnl, new Decimal(f.investment), false);
    return {
      managed_bot_id: f.managed_bot_id,
      follow_id: f.id,
      status: f.status,
      mode: f.mode,
      initial_investment: new Decimal(f.initial_investment).toFixed(),
      investment: new Decimal(f.investment).toFixed(),
      current_balance: balance.toFixed(),
      total_profit: new Decimal(f.total_profit).toFixed(),
      total_loss: new Decimal(f.total_loss).toFixed(),
      net_pnl: netPnl.toFixed(),
      trades: f.trades,
      win_rate: f.trades > 0 ? new Decimal(f.wins).div(f.trades).toDecimalPlaces(4).toFixed() : null,
      profit_share_percentage: new Decimal(f.profit_share_pct).toFixed(),
      profit_share_accrued: f.status === 'active' ? owedAt(balance, f.high_water_mark, f.profit_share_pct).toFixed(2) : '0.00',
      profit_share_paid: ledger.reduce((s, l) => s.plus(l.owed), new Decimal(0)).toFixed(2),
      high_water_mark: new Decimal(f.high_water_mark).toFixed(),
      monthly_returns: monthly,
      last_calculated: f.last_calculated,
    };
  }
}

/** YYYY-MM of `at` in the time zone. */
export function monthOf(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(at);
  return `${parts.find((p) => p.type === 'year')!.value}-${parts.find((p) => p.type === 'month')!.value}`;
}
