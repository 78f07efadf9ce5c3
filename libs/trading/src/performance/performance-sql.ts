/**
 * The FIFO performance statement: one set-based SQL statement (window functions, no per-book
 * loop) over the filled orders of any number of books. See performance-engine.ts for the API.
 *
 * How a fill is counted (per book, mode and symbol; fills ordered by fill time, then creation):
 * - each order with `filled > 0` counts what it filled at its average price (`average`, else
 *   `cost / filled`), whatever its status: a partly filled then canceled order counts its part;
 * - fees are in the quote currency: a fee charged in the base currency is worth `fee × price`;
 *   a fee in a third currency (an exchange token) cannot be valued here and counts 0;
 * - a buy adds a lot of `filled − fee paid in base` (what the book received) costing
 *   `filled × price + fee paid in quote`; a sell gives `filled` and brings `filled × price −
 *   fee (in quote terms)`. Fees therefore sit inside realised and unrealised PnL, and `fees`
 *   reports them apart as well;
 * - FIFO pairs the k-th unit bought with the k-th unit sold (cumulative-quantity intervals), so
 *   a sell closes the oldest open lots first. A sell beyond the book's own position (a bot with
 *   `allow_selling_beyond_position`, selling base it did not buy) opens a SHORT lot at the sell
 *   price: the position goes negative and the next buys close it first, oldest first. A pair is
 *   realised at its later fill (the closing one) and a "trade" is one closing fill: its PnL is the
 *   sum of the pairs it closed; it wins when that sum is > 0;
 * - the open position is the unpaired units: amount (negative when short), average_entry (cost,
 *   or for a short the proceeds, per unit, fees included), last_price (the book's last fill price
 *   on that symbol), unrealised_pnl = amount × (last_price − average_entry);
 * - max_drawdown: the largest fall of cumulative realised PnL (trades of the group in time order)
 *   from its running peak, the peak starting at 0; in the quote currency, ≥ 0;
 * - daily: per calendar day in the given time zone, the realised PnL of trades that closed that
 *   day and the volume (Σ filled × price) of fills that day.
 *
 * Interval pairing with window functions only (no join, whose row estimates on CTEs turn into
 * nested loops): every cumulative boundary (the running total of base bought after each buy, of
 * base sold after each sell) cuts the quantity axis into segments; segment (prev, pos] belongs to
 * the first buy and the first sell whose boundary is ≥ pos, carried backwards over the boundaries
 * sorted by position (a running count of buys, or of sells, numbers the groups that share one).
 * A book of n fills costs a few sorts of n rows: O(n log n).
 */

/** Which orders feed which books; ANDed with `filled > 0`. Parameters are numbered by the caller. */
export interface PerformanceSqlSource {
  /** SQL condition on orders `o`. */
  where: string;
  /** SQL text expression: the group each book's figures are summed into (see GROUP_EXPRESSIONS). */
  group: string;
  /** Parameter placeholder of the time zone (text). */
  tz: string;
  /** Parameter placeholder of the modes to count (varchar[]), or null for all. */
  modes: string | null;
  /** Parameter placeholders of the first and last day of `daily` (date), or null for all days. */
  dailyFrom: string | null;
  dailyTo: string | null;
  /** Also list every trade (closing fill) with its PnL: `closing_trades` (default off). */
  closingTrades?: boolean;
}

/** The book an order belongs to: its bot, or (user, managed bot) for a follower's orders. */
export const BOOK_SQL = `CASE WHEN o.bot_id IS NOT NULL THEN o.bot_id::text ELSE o.user_id::text || ':' || o.managed_bot_id::text END`;

/** Orders that belong to a book at all (manual orders without a bot or managed bot do not). */
export const IN_A_BOOK_SQL = `(o.bot_id IS NOT NULL OR o.managed_bot_id IS NOT NULL)`;

export const GROUP_EXPRESSIONS = {
  book: BOOK_SQL,
  user: `o.user_id::text`,
  all: `'all'`,
  /** Every book summed per quote currency (the admin's platform PnL by day: sums never mix currencies). */
  quote: `split_part(o.symbol, '/', 2)`,
} as const;

/** The orders that count as fills (ANDed with the caller's selection). */
export const COUNTED_FILL_SQL = `${IN_A_BOOK_SQL} AND o.filled > 0 AND o.side IS NOT NULL AND (o.average IS NOT NULL OR o.cost IS NOT NULL)`;

/** A fill's own columns, from orders `o` (see the rules at the top): price, fee, currencies, its time `at`. */
export const FILL_COLUMNS_SQL = `o.id, o.mode, o.symbol, o.side, o.filled AS f,
         coalesce(o.average, o.cost / o.filled) AS px, coalesce(o.fee, 0) AS fee, o.fee_currency,
         split_part(o.symbol, '/', 1) AS base, split_part(o.symbol, '/', 2) AS quote,
         coalesce(o.closed_at, o.updated_at) AS at, o.created_at`;

/**
 * What a fill is worth, from FILL_COLUMNS_SQL's columns: its notional, its fee in quote, the lot it
 * adds or the quantity it gives (`qty`), and what that lot cost or the sale brought (`value`).
 */
export const FILL_VALUES_SQL = `f * px AS notional,
         CASE WHEN fee_currency = quote THEN fee WHEN fee_currency = base THEN fee * px ELSE 0 END AS fee_q,
         CASE WHEN side = 'buy' THEN f - CASE WHEN fee_currency = base THEN fee ELSE 0 END ELSE f END AS qty,
         CASE WHEN side = 'buy' THEN f * px + CASE WHEN fee_currency = quote THEN fee ELSE 0 END
              ELSE f * px - CASE WHEN fee_currency = quote THEN fee WHEN fee_currency = base THEN fee * px ELSE 0 END END AS value`;

/**
 * Cost (or proceeds) per unit of a lot (qty > 0), cut at 30 decimals: far below the 18 shown, and it
 * keeps every product after it short (numeric division would otherwise carry 40+ digits through each
 * window). An incremental fold of the same fills (libs/managed-bots) reads it from here to stay exact.
 */
export const UNIT_SQL = `round(value / qty, 30)`;

const S = 18; // output scale: numeric(36,18) like every money column

export function performanceSql(p: PerformanceSqlSource): string {
  const key = 'book, mode, symbol';
  return `
WITH src AS (
  SELECT ${BOOK_SQL} AS book, ${p.group} AS grp, ${FILL_COLUMNS_SQL}
    FROM orders o
   WHERE (${p.where}) AND ${COUNTED_FILL_SQL}
     ${p.modes ? `AND o.mode = ANY(${p.modes}::varchar[])` : ''}
), fills AS (
  SELECT s.*, ${FILL_VALUES_SQL},
         row_number() OVER (PARTITION BY ${key} ORDER BY at, created_at, id) AS n
    FROM src s
), legs AS (
  SELECT l.*, ${UNIT_SQL} AS unit,
         sum(qty) OVER (PARTITION BY ${key}, side ORDER BY n ROWS UNBOUNDED PRECEDING) AS cum_end,
         coalesce(sum(qty) FILTER (WHERE side = 'buy') OVER (PARTITION BY ${key}), 0) AS bought,
         coalesce(sum(qty) FILTER (WHERE side = 'sell') OVER (PARTITION BY ${key}), 0) AS sold
    FROM fills l WHERE qty > 0
), marks AS (
  -- bg / sg: how many buys / sells end at or after this boundary (ties: that side first).
  SELECT ${key}, grp, side, cum_end AS pos, unit, id, n, at,
         count(*) FILTER (WHERE side = 'buy') OVER (PARTITION BY ${key} ORDER BY cum_end DESC, side = 'buy' DESC ROWS UNBOUNDED PRECEDING) AS bg,
         count(*) FILTER (WHERE side = 'sell') OVER (PARTITION BY ${key} ORDER BY cum_end DESC, side = 'sell' DESC ROWS UNBOUNDED PRECEDING) AS sg
    FROM legs
), covers AS (
  -- The buy and the sell covering the segment that ends at pos: the first row of its bg / sg group.
  SELECT ${key}, grp, pos, bg, sg,
         row_number() OVER (PARTITION BY ${key}, pos) AS dup,
         first_value(unit) OVER b AS b_unit, first_value(n) OVER b AS b_n, first_value(id) OVER b AS b_id, first_value(at) OVER b AS b_at,
         first_value(unit) OVER s AS s_unit, first_value(n) OVER s AS s_n, first_value(id) OVER s AS s_id, first_value(at) OVER s AS s_at
    FROM marks
  WINDOW b AS (PARTITION BY ${key}, bg ORDER BY pos DESC, side = 'buy' DESC),
         s AS (PARTITION BY ${key}, sg ORDER BY pos DESC, side = 'sell' DESC)
), segs AS (
  SELECT c.*, pos - coalesce(lag(pos) OVER (PARTITION BY ${key} ORDER BY pos), 0) AS q
    FROM covers c WHERE dup = 1
), pairs AS (
  -- bg = 0: sold beyond everything bought (an open short); sg = 0: bought beyond everything sold (open long).
  SELECT grp, ${key}, q * s_unit - q * b_unit AS pnl,
         CASE WHEN b_n > s_n THEN b_id ELSE s_id END AS closing_id,
         CASE WHEN b_n > s_n THEN b_at ELSE s_at END AS closing_at,
         greatest(b_n, s_n) AS closing_n
    FROM segs WHERE bg > 0 AND sg > 0 AND q > 0
), trades AS (
  -- closing_n numbers the fills of a book: with the book it is the closing fill.
  SELECT min(grp) AS grp, mode, symbol, min(closing_id::text)::uuid AS closing_id, min(closing_at) AS closing_at, closing_n, sum(pnl) AS pnl
    FROM pairs GROUP BY ${key}, closing_n
), curve AS (
  SELECT grp, mode, cum, greatest(0, max(cum) OVER (PARTITION BY grp, mode ORDER BY closing_at, closing_n, closing_id ROWS UNBOUNDED PRECEDING)) AS peak
    FROM (SELECT grp, mode, closing_at, closing_n, closing_id,
                 sum(pnl) OVER (PARTITION BY grp, mode ORDER BY closing_at, closing_n, closing_id ROWS UNBOUNDED PRECEDING) AS cum
            FROM trades) c
), positions AS (
  -- Only one side can be unpaired: buys past everything sold (long) or sells past everything bought (short).
  SELECT grp, ${key}, min(quote) AS quote, (array_agg(px ORDER BY n DESC))[1] AS last_price,
         coalesce(sum(CASE WHEN side = 'buy' THEN open_qty ELSE -open_qty END) FILTER (WHERE open_qty > 0), 0) AS amount,
         sum(open_qty * unit) FILTER (WHERE open_qty > 0) / nullif(sum(open_qty) FILTER (WHERE open_qty > 0), 0) AS average_entry
    FROM (SELECT l.*, cum_end - greatest(cum_end - qty, CASE WHEN side = 'buy' THEN sold ELSE bought END) AS open_qty FROM legs l) x
   GROUP BY grp, ${key}
), days AS (
  SELECT grp, mode, day, sum(realised) AS realised, sum(volume) AS volume FROM (
    SELECT grp, mode, (at AT TIME ZONE ${p.tz})::date AS day, 0 AS realised, notional AS volume FROM fills
    UNION ALL
    SELECT grp, mode, (closing_at AT TIME ZONE ${p.tz})::date, pnl, 0 FROM trades
  ) d
  ${p.dailyFrom || p.dailyTo ? `WHERE ${[p.dailyFrom ? `day >= ${p.dailyFrom}::date` : '', p.dailyTo ? `day <= ${p.dailyTo}::date` : ''].filter(Boolean).join(' AND ')}` : ''}
  GROUP BY grp, mode, day
), g_fills AS (
  SELECT grp, mode, count(*)::int AS fills, sum(fee_q) AS fees, sum(notional) AS volume,
         min(quote) AS quote, count(DISTINCT quote)::int AS quotes
    FROM fills GROUP BY grp, mode
), g_trades AS (
  SELECT grp, mode, sum(pnl) AS realised, count(*)::int AS trades, count(*) FILTER (WHERE pnl > 0)::int AS wins,
         coalesce(sum(pnl) FILTER (WHERE pnl > 0), 0) AS gross_profit, coalesce(-sum(pnl) FILTER (WHERE pnl < 0), 0) AS gross_loss
    FROM trades GROUP BY grp, mode
), g_dd AS (
  SELECT grp, mode, max(peak - cum) AS max_drawdown FROM curve GROUP BY grp, mode
), g_pos AS (
  SELECT grp, mode,
         sum(round(coalesce(amount * (last_price - average_entry), 0), ${S})) AS unrealised,
         jsonb_agg(jsonb_build_object(
           'book', book, 'symbol', symbol, 'quote_currency', quote,
           'amount', round(amount, ${S})::text,
           'average_entry', round(average_entry, ${S})::text,
           'last_price', round(last_price, ${S})::text,
           'unrealised_pnl', round(coalesce(amount * (last_price - average_entry), 0), ${S})::text
         ) ORDER BY book, symbol) AS positions
    FROM positions GROUP BY grp, mode
), g_closing AS (
  SELECT grp, mode, ${p.closingTrades ? `jsonb_agg(jsonb_build_object(
           'order_id', closing_id, 'symbol', symbol, 'closed_at', closing_at, 'pnl', round(pnl, ${S})::text) ORDER BY closing_at, closing_n, closing_id)` : `NULL::jsonb`} AS closing_trades
    FROM trades ${p.closingTrades ? '' : 'WHERE false'} GROUP BY grp, mode
), g_days AS (
  SELECT grp, mode, jsonb_agg(jsonb_build_object(
           'day', to_char(day, 'YYYY-MM-DD'),
           'realised_pnl', round(realised, ${S})::text,
           'volume', round(volume, ${S})::text) ORDER BY day) AS daily
    FROM days GROUP BY grp, mode
)
SELECT f.grp AS "group", f.mode, CASE WHEN f.quotes = 1 THEN f.quote END AS quote_currency, f.fills,
       round(f.fees, ${S})::text AS fees, round(f.volume, ${S})::text AS volume,
       round(coalesce(t.realised, 0), ${S})::text AS realised_pnl,
       coalesce(t.trades, 0) AS trades, coalesce(t.wins, 0) AS wins,
       round(coalesce(t.gross_profit, 0), ${S})::text AS gross_profit, round(coalesce(t.gross_loss, 0), ${S})::text AS gross_loss,
       round(coalesce(d.max_drawdown, 0), ${S})::text AS max_drawdown,
       coalesce(p.unrealised, 0)::text AS unrealised_pnl,
       coalesce(p.positions, '[]'::jsonb) AS positions, coalesce(y.daily, '[]'::jsonb) AS daily,
       ${p.closingTrades ? `coalesce(c.closing_trades, '[]'::jsonb)` : 'NULL::jsonb'} AS closing_trades
  FROM g_fills f
  LEFT JOIN g_trades t ON t.grp = f.grp AND t.mode = f.mode
  LEFT JOIN g_dd d ON d.grp = f.grp AND d.mode = f.mode
  LEFT JOIN g_pos p ON p.grp = f.grp AND p.mode = f.mode
  LEFT JOIN g_days y ON y.grp = f.grp AND y.mode = f.mode
  LEFT JOIN g_closing c ON c.grp = f.grp AND c.mode = f.mode
 ORDER BY f.grp, f.mode`;
}
