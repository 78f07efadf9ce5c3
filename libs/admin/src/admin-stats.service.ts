import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, CommonErrors, Decimal } from '@torgovo/core';
import { botTotals } from '@torgovo/custom-bots';
import { RevenueRow, revenueByMonthAndPlan } from '@torgovo/payments';
import { mrrByPlan, subscriptionsByPlanAndStatus } from '@torgovo/subscriptions';
import { OrderStatsService, pnlByDay } from '@torgovo/trading';
import { registrationsByDay, userTotals } from '@torgovo/users';
import { AdminOverviewResponse, DayRangeQuery, RevenueQuery, RevenueResponse, TradingStatsQuery, TradingStatsResponse, UserStatsResponse } from './dto/admin-stats.dto';

const MAX_DAYS = 366;
const MAX_MONTHS = 36;
const TOP_SYMBOLS = 10;

const sum = (values: string[]): string => values.reduce((a, v) => a.plus(v), new Decimal(0)).toFixed();

/** The sums of revenue rows (any number, zeros when none). */
function totals(rows: RevenueRow[]): Omit<RevenueRow, 'month' | 'plan'> {
  return {
    payments: rows.reduce((n, r) => n + r.payments, 0),
    revenue_usd: sum(rows.map((r) => r.revenue_usd)),
    refunds: rows.reduce((n, r) => n + r.refunds, 0),
    refunds_usd: sum(rows.map((r) => r.refunds_usd)),
    net_usd: sum(rows.map((r) => r.net_usd)),
  };
}

/** YYYY-MM-DD ± days, on the calendar (no timezone involved). */
function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number);
  const total = y * 12 + (m - 1) + n;
  return `${String(Math.floor(total / 12)).padStart(4, '0')}-${String((total % 12) + 1).padStart(2, '0')}`;
}

const daysBetween = (from: string, to: string): number => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/**
 * The back office's figures. Each figure is one statement owned by the lib whose tables it reads
 * (users, custom-bots, trading, subscriptions, payments); this service only picks the ranges in
 * APP_TIMEZONE and runs the statements of one answer side by side.
 */
@Injectable()
export class AdminStatsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly orders: OrderStatsService,
  ) {}

  private get tz(): string {
    return this.config.env.APP_TIMEZONE;
  }

  /** Today's date in APP_TIMEZONE. */
  private today(): string {
    return new Intl.DateTimeFormat('en-CA', { timeZone: this.tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  }

  async overview(): Promise<AdminOverviewResponse> {
    const month = this.today().slice(0, 7);
    const [users, bots, orders, mrr, revenue, subscriptions] = await Promise.all([
      userTotals(this.ds, this.tz),
      botTotals(this.ds),
      this.orders.totals(),
      mrrByPlan(this.ds),
      revenueByMonthAndPlan(this.ds, this.tz, month, month),
      subscriptionsByPlanAndStatus(this.ds),
    ]);
    const thisMonth = revenue.map(({ plan, payments, revenue_usd }) => ({ plan, payments, revenue_usd }));
    return {
      timezone: this.tz,
      users,
      bots,
      orders,
      revenue: {
        mrr_usd: sum(mrr.map((p) => p.mrr_usd)),
        mrr_by_plan: mrr,
        this_month_usd: sum(thisMonth.map((p) => p.revenue_usd)),
        this_month_by_plan: thisMonth,
      },
      subscriptions,
    };
  }

  async userStats(q: DayRangeQuery): Promise<UserStatsResponse> {
    const { from, to } = this.dayRange(q);
    const byDay = await registrationsByDay(this.ds, this.tz, from, to);
    return { timezone: this.tz, from, to, total: byDay.reduce((n, d) => n + d.registrations, 0), by_day: byDay };
  }

  async tradingStats(q: TradingStatsQuery): Promise<TradingStatsResponse> {
    const range = { ...this.dayRange(q), mode: q.mode };
    const [byDay, top, reasons, pnl] = await Promise.all([
      this.orders.byDay(range),
      this.orders.topSymbols(range, TOP_SYMBOLS),
      this.orders.reasons(range),
      pnlByDay(this.ds, { timezone: this.tz, ...range }),
    ]);
    return { timezone: this.tz, from: range.from, to: range.to, mode: q.mode ?? null, finished: reasons.finished, by_day: byDay, top_symbols: top, reasons: reasons.reasons, pnl };
  }

  async revenue(q: RevenueQuery): Promise<RevenueResponse> {
    const to = q.to ?? this.today().slice(0, 7);
    const from = q.from ?? addMonths(to, -11);
    if (from > to) throw CommonErrors.validation('from is after to', [{ field: 'from', message: 'must not be after to' }]);
    const months: string[] = [];
    for (let m = from; m <= to; m = addMonths(m, 1)) {
      months.push(m);
      if (months.length > MAX_MONTHS) throw CommonErrors.validation(`At most ${MAX_MONTHS} months at once`, [{ field: 'from', message: `the range is longer than ${MAX_MONTHS} months` }]);
    }
    const rows = await revenueByMonthAndPlan(this.ds, this.tz, from, to);
    const byMonth = months.map((month) => ({ month, ...totals(rows.filter((r) => r.month === month)) }));
    const all = totals(rows);
    return { timezone: this.tz, from, to, total_usd: all.revenue_usd, refunds_usd: all.refunds_usd, net_usd: all.net_usd, by_month: byMonth, by_month_and_plan: rows };
  }

  private dayRange(q: DayRangeQuery): { from: string; to: string } {
    const to = q.to ?? this.today();
    const from = q.from ?? addDays(to, -29);
    for (const [field, day] of [['from', from], ['to', to]] as const) {
      // The pattern allows 2026-02-31; the calendar does not.
      if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) throw CommonErrors.validation(`${field} is not a calendar date`, [{ field, message: 'no such day' }]);
    }
    const days = daysBetween(from, to);
    if (days < 0) throw CommonErrors.validation('from is after to', [{ field: 'from', message: 'must not be after to' }]);
    if (days >= MAX_DAYS) throw CommonErrors.validation(`At most ${MAX_DAYS} days at once`, [{ field: 'from', message: `the range is longer than ${MAX_DAYS} days` }]);
    return { from, to };
  }
}
