/**
 * Managed-bot followers' books from their own filled orders, for one set-based statement over many
 * followers (libs/managed-bots recomputes performance with it; trading owns the orders table, so the
 * fragment lives here). `follows` names a relation with (id, user_id, managed_bot_id, started_at,
 * ended_at — 'infinity' while active). Rows: per follow, `cash` (what sells brought in minus what buys
 * cost, quote fees included) and `marked` (what it holds of each symbol at that managed bot's last
 * fill price), so net PnL = cash + marked. Fees paid in neither base nor quote are not counted.
 * This is cash-flow accounting: the total is the same as FIFO's realised + unrealised; the split into
 * closed-trade profit and loss is the performance engine's (libs/trading/src/performance).
 */
export function followerBooksSql(follows: string): string {
  return `
    SELECT f.id AS follow_id,
           coalesce(sum(b.cash), 0) AS cash,
           coalesce(sum(b.base * m.price), 0) AS marked,
           coalesce(sum(b.fills), 0)::int AS fills
      FROM ${follows} f
      LEFT JOIN (
        SELECT f2.id AS follow_id, o.managed_bot_id, o.symbol,
               sum(CASE WHEN o.side = 'sell' THEN coalesce(o.cost, 0) ELSE -coalesce(o.cost, 0) END
                   - CASE WHEN o.fee_currency = split_part(o.symbol, '/', 2) THEN coalesce(o.fee, 0) ELSE 0 END) AS cash,
               sum(CASE WHEN o.side = 'buy' THEN o.filled - CASE WHEN o.fee_currency = split_part(o.symbol, '/', 1) THEN coalesce(o.fee, 0) ELSE 0 END
                        ELSE -o.filled END) AS base,
               count(*) AS fills
          FROM ${follows} f2
          JOIN orders o ON o.managed_bot_id = f2.managed_bot_id AND o.user_id = f2.user_id
                       AND o.created_at >= f2.started_at AND o.created_at < f2.ended_at
         WHERE o.filled > 0
         GROUP BY f2.id, o.managed_bot_id, o.symbol
      ) b ON b.follow_id = f.id
      LEFT JOIN LATERAL (
        SELECT o.average AS price FROM orders o
         WHERE o.managed_bot_id = b.managed_bot_id AND o.symbol = b.symbol AND o.filled > 0 AND o.average IS NOT NULL
         ORDER BY o.closed_at DESC NULLS LAST LIMIT 1
      ) m ON b.symbol IS NOT NULL
     GROUP BY f.id`;
}

/** The last fill price of each symbol of one managed bot (what closing orders on paper fill at, and positions are marked to). */
export const MANAGED_LAST_PRICES_SQL = `
  SELECT DISTINCT ON (symbol) symbol, average::text AS price FROM orders
   WHERE managed_bot_id = $1 AND filled > 0 AND average IS NOT NULL
   ORDER BY symbol, closed_at DESC NULLS LAST`;
