/**
 * What the order figures count, written once for the rollup job and the readers (both must agree
 * row for row, or a figure would change when the job runs).
 *
 * A finished order is one with closed_at set (filled, canceled, rejected, failed): the
 * TradingManager never changes it again, so it is counted once, on the day of closed_at in the
 * timezone given. Traded volume is the quote amount that actually traded (`cost`) of finished orders
 * with a fill (filled, or partly filled then canceled); an order still open is counted when it ends.
 */

/** Quote currencies counted as US dollars one to one for "volume in USD". */
export const USD_QUOTES = ['USDT', 'USDC', 'USD', 'DAI', 'FDUSD', 'TUSD', 'USDP', 'PYUSD', 'BUSD'] as const;

/** SQL: the quote currency of `symbolColumn` ('BTC/USDT' → USDT) is a USD stablecoin. */
export function isUsdQuoteSql(symbolColumn: string): string {
  return `split_part(${symbolColumn}, '/', 2) IN (${USD_QUOTES.map((q) => `'${q}'`).join(', ')})`;
}

/**
 * The reason code of a finished order: the part of `reason` before the first colon
 * ("rejected_by_exchange: Insufficient balance" → rejected_by_exchange), '' for a fill,
 * 'unspecified' when an order ended without one.
 */
export function reasonCodeSql(o: string): string {
  return `CASE WHEN ${o}.status = 'filled' THEN '' ELSE left(coalesce(nullif(btrim(split_part(${o}.reason, ':', 1)), ''), 'unspecified'), 64) END`;
}

/**
 * One finished order (alias `o`) as a stats row: day (of closed_at in the timezone bound at
 * `$tz`), mode, symbol, status, reason_code, orders, filled_orders, quote_volume.
 */
export function orderStatColumnsSql(o: string, tz: string): string {
  return `(${o}.closed_at AT TIME ZONE ${tz})::date AS day, ${o}.mode, ${o}.symbol, ${o}.status, ${reasonCodeSql(o)} AS reason_code,
          1 AS orders, (${o}.filled > 0)::int AS filled_orders, CASE WHEN ${o}.filled > 0 THEN coalesce(${o}.cost, 0) ELSE 0 END AS quote_volume`;
}

/** How far the rollup counts for timezone `tz` ('-infinity' when it was rolled up under another one). */
export function rolledUpToSql(tz: string): string {
  return `(SELECT CASE WHEN timezone = ${tz} THEN rolled_up_to ELSE '-infinity'::timestamptz END FROM order_stats_state WHERE id = 1)`;
}

/** The watermark's value now, for `floor` above (text: a JS Date would drop the microseconds). */
export function watermarkFloorSql(tz: string): string {
  return `SELECT ${rolledUpToSql(tz)}::text AS floor`;
}

/** Start of the calendar day `day` (a date expression) in timezone `tz`, as timestamptz. */
export function dayStartSql(day: string, tz: string): string {
  return `((${day})::timestamp AT TIME ZONE ${tz})`;
}

/**
 * Finished-order stats rows for the days [$from, $to] (dates) in timezone $tz: the rollup's rows
 * plus the finished orders past its watermark, read from orders_closed_idx. Parameter positions
 * are given by the caller. `floor` is a value of the watermark read before the statement
 * (watermarkFloorSql): redundant, as the watermark only moves forward, but a constant the planner
 * can estimate — against the subquery alone it guessed a third of all orders and, at 10M orders,
 * the plan's cost crossed jit_above_cost: 1.4 s of JIT compilation for a 70 ms statement.
 */
export function finishedOrderRowsSql(p: { tz: string; from: string; to: string; floor: string }): string {
  return `SELECT r.day, r.mode, r.symbol, r.status, r.reason_code, r.orders, r.filled_orders, r.quote_volume
            FROM order_day_stats r JOIN order_stats_state st ON st.id = 1 AND st.timezone = ${p.tz}
           WHERE r.day >= ${p.from}::date AND r.day <= ${p.to}::date
          UNION ALL
          SELECT ${orderStatColumnsSql('o', p.tz)}
            FROM orders o
           WHERE o.closed_at >= greatest(${rolledUpToSql(p.tz)}, ${dayStartSql(`${p.from}::date`, p.tz)})
             AND o.closed_at >= ${p.floor}::timestamptz
             AND o.closed_at < ${dayStartSql(`${p.to}::date + 1`, p.tz)}`;
}
