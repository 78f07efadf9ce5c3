import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, Decimal, toDecimalString } from '@torgovo/core';
import type { OrderMode } from '../entities/order.entity';
import { dayStartSql, finishedOrderRowsSql, isUsdQuoteSql, rolledUpToSql, watermarkFloorSql } from './order-stats-sql';

export interface OrderTotals {
  /** Every order row. */
  total: number;
  /** Created since midnight (APP_TIMEZONE). */
  today: number;
  /** pending, submitting or open now. */
  unfinished: number;
  /** Quote volume of finished orders with a fill whose quote is a USD stablecoin, per mode. */
  volume_usd: { live: string; paper: string };
}

export interface OrderDayRow {
  day: string;
  finished: number;
  filled: number;
  canceled: number;
  rejected: number;
  failed: number;
  volume_usd: string;
}

export interface OrderSymbolRow {
  symbol: string;
  orders: number;
  filled_orders: number;
  /** In the symbol's quote currency. */
  quote_volume: string;
  /** = quote_volume when the quote is a USD stablecoin, else null. */
  volume_usd: string | null;
}

export interface OrderReasonRow {
  status: 'canceled' | 'rejected' | 'failed';
  reason: string;
  orders: number;
  /** orders / all finished orders of the range, 6 decimals. */
  rate: string;
}

export interface OrderStatsRange {
  /** Calendar days in APP_TIMEZONE, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  mode?: OrderMode;
}

const num = (v: string | number | null): number => Number(v ?? 0);
const dec = (v: string | null): string => toDecimalString(v ?? '0');

/**
 * The order figures of the admin back office, each one statement over order_day_stats (the
 * rollup) plus the orders past its watermark (see order-stats-sql.ts for what is counted).
 */
@Injectable()
export class OrderStatsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly config: AppConfig,
  ) {}

  private get tz(): string {
    return this.config.env.APP_TIMEZONE;
  }

  /** See finishedOrderRowsSql's `floor`. */
  private async floor(): Promise<string> {
    const [{ floor }] = (await this.ds.query(watermarkFloorSql('$1'), [this.tz])) as Array<{ floor: string }>;
    return floor;
  }

  async totals(): Promise<OrderTotals> {
    const floor = await this.floor();
    const [row] = (await this.ds.query(
      `WITH fin AS (
         SELECT r.mode, r.symbol, r.orders, r.quote_volume
           FROM order_day_stats r JOIN order_stats_state st ON st.id = 1 AND st.timezone = $1
         UNION ALL
         SELECT o.mode, o.symbol, 1, CASE WHEN o.filled > 0 THEN coalesce(o.cost, 0) ELSE 0 END
           FROM orders o WHERE o.closed_at >= ${rolledUpToSql('$1')} AND o.closed_at >= $2::timestamptz
       ), unfinished AS (
         SELECT (SELECT count(*) FROM orders WHERE status IN ('pending', 'submitting'))
              + (SELECT count(*) FROM orders WHERE status = 'open') AS n
       )
       SELECT (SELECT coalesce(sum(orders), 0) FROM fin) + (SELECT n FROM unfinished) AS total,
              (SELECT n FROM unfinished) AS unfinished,
              (SELECT count(*) FROM orders WHERE created_at >= ${dayStartSql(`(now() AT TIME ZONE $1)::date`, '$1')}) AS today,
              (SELECT sum(quote_volume) FILTER (WHERE mode = 'live') FROM fin WHERE ${isUsdQuoteSql('symbol')}) AS usd_live,
              (SELECT sum(quote_volume) FILTER (WHERE mode = 'paper') FROM fin WHERE ${isUsdQuoteSql('symbol')}) AS usd_paper`,
      [this.tz, floor],
    )) as Array<Record<string, string | null>>;
    return {
      total: num(row.total),
      today: num(row.today),
      unfinished: num(row.unfinished),
      volume_usd: { live: dec(row.usd_live), paper: dec(row.usd_paper) },
    };
  }

  /** Finished orders per day of closed_at, every day of the range (zeros included). */
  async byDay(r: OrderStatsRange): Promise<OrderDayRow[]> {
    const floor = await this.floor();
    const rows = (await this.ds.query(
      `WITH f AS (${finishedOrderRowsSql({ tz: '$1', from: '$2', to: '$3', floor: '$5' })})
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
              coalesce(sum(f.orders), 0) AS finished,
              coalesce(sum(f.orders) FILTER (WHERE f.status = 'filled'), 0) AS filled,
              coalesce(sum(f.orders) FILTER (WHERE f.status = 'canceled'), 0) AS canceled,
              coalesce(sum(f.orders) FILTER (WHERE f.status = 'rejected'), 0) AS rejected,
              coalesce(sum(f.orders) FILTER (WHERE f.status = 'failed'), 0) AS failed,
              sum(f.quote_volume) FILTER (WHERE ${isUsdQuoteSql('f.symbol')}) AS volume_usd
         FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
         LEFT JOIN f ON f.day = d.day::date AND ($4::text IS NULL OR f.mode = $4)
        GROUP BY d.day ORDER BY d.day`,
      [this.tz, r.from, r.to, r.mode ?? null, floor],
    )) as Array<Record<string, string | null>>;
    return rows.map((x) => ({
      day: x.day as string,
      finished: num(x.finished),
      filled: num(x.filled),
      canceled: num(x.canceled),
      rejected: num(x.rejected),
      failed: num(x.failed),
      volume_usd: dec(x.volume_usd),
    }));
  }

  /** The symbols with the most USD volume (then the most orders) in the range. */
  async topSymbols(r: OrderStatsRange, limit: number): Promise<OrderSymbolRow[]> {
    const floor = await this.floor();
    const rows = (await this.ds.query(
      `WITH f AS (${finishedOrderRowsSql({ tz: '$1', from: '$2', to: '$3', floor: '$6' })})
       SELECT symbol, sum(orders) AS orders, sum(filled_orders) AS filled_orders, sum(quote_volume) AS quote_volume,
              bool_and(${isUsdQuoteSql('symbol')}) AS usd
         FROM f WHERE ($4::text IS NULL OR mode = $4)
        GROUP BY symbol
        ORDER BY CASE WHEN bool_and(${isUsdQuoteSql('symbol')}) THEN sum(quote_volume) ELSE 0 END DESC, sum(orders) DESC, symbol
        LIMIT $5`,
      [this.tz, r.from, r.to, r.mode ?? null, limit, floor],
    )) as Array<{ symbol: string; orders: string; filled_orders: string; quote_volume: string; usd: boolean }>;
    return rows.map((x) => ({
      symbol: x.symbol,
      orders: num(x.orders),
      filled_orders: num(x.filled_orders),
      quote_volume: dec(x.quote_volume),
      volume_usd: x.usd ? dec(x.quote_volume) : null,
    }));
  }

  /** Orders that ended without a fill's status, by status and reason code, with their share of all finished orders. */
  async reasons(r: OrderStatsRange): Promise<{ finished: number; reasons: OrderReasonRow[] }> {
    const floor = await this.floor();
    const rows = (await this.ds.query(
      `WITH f AS (${finishedOrderRowsSql({ tz: '$1', from: '$2', to: '$3', floor: '$5' })}),
            g AS (SELECT status, reason_code, sum(orders) AS orders FROM f WHERE ($4::text IS NULL OR mode = $4) GROUP BY status, reason_code)
       SELECT status, reason_code, orders, sum(orders) OVER () AS finished FROM g
        ORDER BY status = 'filled' DESC, orders DESC, status, reason_code`,
      [this.tz, r.from, r.to, r.mode ?? null, floor],
    )) as Array<{ status: string; reason_code: string; orders: string; finished: string }>;
    const finished = rows.length > 0 ? num(rows[0].finished) : 0;
    return {
      finished,
      reasons: rows
        .filter((x) => x.status !== 'filled')
        .map((x) => ({
          status: x.status as OrderReasonRow['status'],
          reason: x.reason_code,
          orders: num(x.orders),
          rate: new Decimal(x.orders).div(finished).toFixed(6),
        })),
    };
  }
}
