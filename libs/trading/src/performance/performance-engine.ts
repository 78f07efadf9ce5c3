/**
 * The FIFO performance engine: the one place that turns filled orders into trading figures
 * (position, realised/unrealised PnL, fees, trades, win rate, max drawdown, daily PnL and volume).
 * What is counted and how is written at the top of performance-sql.ts.
 *
 * A "book" is the orders one FIFO ledger runs over: a custom bot's orders (book key = bot id), or
 * one follower's orders of a managed bot (book key = `${user_id}:${managed_bot_id}`, see
 * followBookKey). Books are computed apart (per mode and symbol), then their figures are summed
 * into groups: per book, per user, or all together.
 *
 * How another lib calls it (PerformanceEngine is exported by TradingModule, which is global):
 *
 *   constructor(private readonly performance: PerformanceEngine) {}
 *
 *   // one custom bot (rows per mode: a bot that switched paper → live has one row each)
 *   await this.performance.compute({ botIds: [botId] });
 *   // followers of managed bots: one row per (user, managed bot) pair and mode
 *   await this.performance.compute({ follows: [{ userId, managedBotId }] });
 *   // a user's whole account (every bot and every followed managed bot) summed per user
 *   await this.performance.compute({ userIds: [userId], groupBy: 'user' });
 *   // the platform's realised PnL by day (admin), live only, for a range of days
 *   await this.performance.compute({ all: true, groupBy: 'all', modes: ['live'], dailyFrom: '2026-11-01', dailyTo: '2026-11-30' });
 *
 * Selections (botIds, follows, userIds, all) are ORed; each call is one SQL statement. Pass an
 * EntityManager as the second argument to read inside your transaction. Days are calendar days
 * in APP_TIMEZONE unless `timezone` says otherwise. A group without a fill has no row: use
 * emptyPerformance() for it. All amounts are decimal strings in the quote currency.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AppConfig, Decimal, toDecimalString } from '@torgovo/core';
import type { OrderMode } from '../orders/entities/order.entity';
import { GROUP_EXPRESSIONS, performanceSql } from './performance-sql';

export type PerformanceGroupBy = keyof typeof GROUP_EXPRESSIONS;

export interface PerformanceQuery {
  /** Custom bots' books. */
  botIds?: string[];
  /** Followers' books of managed bots: the orders with this user_id and managed_bot_id. */
  follows?: Array<{ userId: string; managedBotId: string }>;
  /** Every book (bots and follows) of these users. */
  userIds?: string[];
  /** Every book of every user (admin figures). */
  all?: boolean;
  /** How books' figures are summed: 'book' (default) keys rows by book, 'user' by user id, 'all' into one row 'all'. */
  groupBy?: PerformanceGroupBy;
  /** Only orders of these modes (default: both, as separate rows). */
  modes?: OrderMode[];
  /** Limit `daily` to these calendar days (YYYY-MM-DD, both included); the FIFO still runs over all history. */
  dailyFrom?: string;
  dailyTo?: string;
  /** IANA zone of the day boundaries (default APP_TIMEZONE). */
  timezone?: string;
  /** Also list each trade (closing fill) with its realised PnL in `closing_trades` (default: not listed). */
  closingTrades?: boolean;
}

/** One trade: the closing fill (its order) and the PnL it realised (fees included). */
export interface ClosingTrade {
  order_id: string;
  symbol: string;
  closed_at: string;
  pnl: string;
}

export interface PositionFigures {
  /** The book this position belongs to (bot id or `${user_id}:${managed_bot_id}`). */
  book: string;
  symbol: string;
  quote_currency: string;
  /** Base held by the book: negative when it sold more than it bought (short, see performance-sql.ts). */
  amount: string;
  /** Cost per unit of the open lots, fees included (for a short: proceeds per unit); null when flat. */
  average_entry: string | null;
  /** The book's last fill price on this symbol. */
  last_price: string | null;
  /** amount × (last_price − average_entry). */
  unrealised_pnl: string;
}

export interface DailyFigures {
  /** Calendar day (YYYY-MM-DD) in the time zone used. */
  day: string;
  realised_pnl: string;
  volume: string;
}

export interface PerformanceFigures {
  /** Book key, user id or 'all', as grouped. */
  group: string;
  mode: OrderMode;
  /** The quote currency every figure is in; null when the group trades several (its sums then mix them). */
  quote_currency: string | null;
  /** Orders with a fill. */
  fills: number;
  fees: string;
  /** Σ filled × price of every fill. */
  volume: string;
  realised_pnl: string;
  unrealised_pnl: string;
  /** Closing fills (fills that realised PnL). */
  trades: number;
  /** Trades with a positive PnL. */
  wins: number;
  /** Σ PnL of the winning trades (≥ 0). */
  gross_profit: string;
  /** Σ |PnL| of the losing trades (≥ 0). */
  gross_loss: string;
  /** wins / trades (0 to 1, 4 decimals), null without a trade. */
  win_rate: string | null;
  max_drawdown: string;
  /** One per book and symbol ever traded, flat ones included (amount 0). */
  positions: PositionFigures[];
  daily: DailyFigures[];
  /** Only when the query asked for closingTrades: every trade in time order. */
  closing_trades?: ClosingTrade[];
}

/** What the statement returns: the figures before win_rate (computed here) and decimal normalisation. */
type Row = Omit<PerformanceFigures, 'win_rate' | 'closing_trades'> & { closing_trades: ClosingTrade[] | null };

export function followBookKey(userId: string, managedBotId: string): string {
  return `${userId}:${managedBotId}`;
}

export function winRate(wins: number, trades: number): string | null {
  return trades === 0 ? null : new Decimal(wins).div(trades).toDecimalPlaces(4).toFixed();
}

/** The figures of a group without a single fill. */
export function emptyPerformance(group: string, mode: OrderMode, quoteCurrency: string | null = null): PerformanceFigures {
  return {
    group,
    mode,
    quote_currency: quoteCurrency,
    fills: 0,
    fees: '0',
    volume: '0',
    realised_pnl: '0',
    unrealised_pnl: '0',
    trades: 0,
    wins: 0,
    gross_profit: '0',
    gross_loss: '0',
    win_rate: null,
    max_drawdown: '0',
    positions: [],
    daily: [],
  };
}

const dec = (v: string | null): string | null => (v === null ? null : toDecimalString(v));

function toFigures(r: Row): PerformanceFigures {
  return {
    group: r.group,
    mode: r.mode,
    quote_currency: r.quote_currency,
    fills: r.fills,
    fees: toDecimalString(r.fees),
    volume: toDecimalString(r.volume),
    realised_pnl: toDecimalString(r.realised_pnl),
    unrealised_pnl: toDecimalString(r.unrealised_pnl),
    trades: r.trades,
    wins: r.wins,
    gross_profit: toDecimalString(r.gross_profit),
    gross_loss: toDecimalString(r.gross_loss),
    win_rate: winRate(r.wins, r.trades),
    max_drawdown: toDecimalString(r.max_drawdown),
    positions: r.positions.map((p) => ({
      ...p,
      amount: toDecimalString(p.amount),
      average_entry: dec(p.average_entry),
      last_price: dec(p.last_price),
      unrealised_pnl: toDecimalString(p.unrealised_pnl),
    })),
    daily: r.daily.map((d) => ({ day: d.day, realised_pnl: toDecimalString(d.realised_pnl), volume: toDecimalString(d.volume) })),
    ...(r.closing_trades ? { closing_trades: r.closing_trades.map((c) => ({ ...c, pnl: toDecimalString(c.pnl) })) } : {}),
  };
}

@Injectable()
export class PerformanceEngine {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Figures per group and mode (ordered by group, then mode); groups without a fill are absent. */
  async compute(query: PerformanceQuery, m: EntityManager | DataSource = this.ds): Promise<PerformanceFigures[]> {
    const params: unknown[] = [];
    const param = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    const conditions: string[] = [];
    if (query.all) conditions.push('true');
    if (query.botIds?.length) conditions.push(`o.bot_id = ANY(${param(query.botIds)}::uuid[])`);
    if (query.userIds?.length) conditions.push(`o.user_id = ANY(${param(query.userIds)}::uuid[])`);
    if (query.follows?.length) {
      const users = param(query.follows.map((f) => f.userId));
      const bots = param(query.follows.map((f) => f.managedBotId));
      conditions.push(
        `(o.bot_id IS NULL AND (o.user_id, o.managed_bot_id) IN (SELECT u, b FROM unnest(${users}::uuid[], ${bots}::uuid[]) AS f(u, b)))`,
      );
    }
    if (conditions.length === 0) return [];
    const sql = performanceSql({
      where: conditions.join(' OR '),
      group: GROUP_EXPRESSIONS[query.groupBy ?? 'book'],
      tz: param(query.timezone ?? this.config.env.APP_TIMEZONE),
      modes: query.modes ? param(query.modes) : null,
      dailyFrom: query.dailyFrom ? param(query.dailyFrom) : null,
      dailyTo: query.dailyTo ? param(query.dailyTo) : null,
      closingTrades: query.closingTrades === true,
    });
    const rows = (await m.query(sql, params)) as Row[];
    return rows.map(toFigures);
  }
}
