import type { EntityManager } from 'typeorm';
import { Decimal } from '@torgovo/core';

/**
 * The running position of each bot (bot_positions): base amount held and its cost basis, moved by
 * every fill in the statement that records it, so sizing a close reads one row whatever the bot's
 * history. A buy adds what it bought less a fee paid in base, and its cost plus a fee paid in
 * quote; a sell takes what it sold off the amount and the cost basis in proportion (average cost).
 */

/** The orders row before the change, locked: the fill moves the position by the difference (columns of `table`, when the query joins another with the same names). */
export function previousFillColumns(table?: string): string {
  const q = table ? `${table}.` : '';
  return `${q}filled AS filled0, ${q}fee AS fee0, ${q}fee_currency AS fee_currency0, ${q}cost AS cost0`;
}
export const PREVIOUS_FILL_COLUMNS = previousFillColumns();

/** What `changed` (an UPDATE … RETURNING the new row and PREVIOUS_FILL_COLUMNS) must return. */
export const CHANGED_FILL_COLUMNS = `o.id, o.bot_id, o.side, o.symbol, o.filled, o.fee, o.fee_currency, o.cost, prev.filled0, prev.fee0, prev.fee_currency0, prev.cost0`;

const NET_BASE = (filled: string, fee: string, ccy: string) =>
  `(${filled} - CASE WHEN ${ccy} = split_part(symbol, '/', 1) THEN coalesce(${fee}, 0) ELSE 0 END)`;
const SPENT = (cost: string, fee: string, ccy: string) =>
  `(coalesce(${cost}, 0) + CASE WHEN ${ccy} = split_part(symbol, '/', 2) THEN coalesce(${fee}, 0) ELSE 0 END)`;

/** A CTE (`moved`) that applies the fill delta of the rows in `changed` to their bots' positions. */
export const MOVE_POSITIONS_CTE = `moved AS (
    INSERT INTO bot_positions AS p (bot_id, amount, cost)
    SELECT bot_id, d_amount, d_cost FROM (
      SELECT bot_id,
             CASE WHEN side = 'buy' THEN ${NET_BASE('filled', 'fee', 'fee_currency')} - ${NET_BASE('filled0', 'fee0', 'fee_currency0')}
                  ELSE filled0 - filled END AS d_amount,
             CASE WHEN side = 'buy' THEN ${SPENT('cost', 'fee', 'fee_currency')} - ${SPENT('cost0', 'fee0', 'fee_currency0')} ELSE 0 END AS d_cost
        FROM changed WHERE bot_id IS NOT NULL
    ) d
    WHERE d_amount <> 0 OR d_cost <> 0
    ON CONFLICT (bot_id) DO UPDATE SET
      amount = p.amount + EXCLUDED.amount,
      cost = CASE WHEN EXCLUDED.amount >= 0 THEN p.cost + EXCLUDED.cost
                  WHEN p.amount > 0 THEN p.cost * greatest(p.amount + EXCLUDED.amount, 0) / p.amount
                  ELSE 0 END,
      updated_at = now()
    RETURNING p.bot_id
  )`;

export interface BotPosition {
  /** Base the bot holds less what its open sells still take; may be negative after selling beyond it (opted in). */
  amount: Decimal;
  cost: Decimal;
  last_target_signal_at: Date | null;
  /** The bot's market orders sent but not read back yet (`open`): their fill is not in `amount` yet. */
  unsettled: number;
  /** Base the bot's open buys (resting limit orders) may still buy: a target alert does not buy it again. */
  open_buys?: Decimal;
}

/** The bot's position as sizing sees it: one statement, served by the primary key and the partial index of open orders per bot. */
export async function readBotPosition(m: EntityManager, botId: string): Promise<BotPosition> {
  return (await readBotPositions(m, [botId])).get(botId)!;
}

/** readBotPosition for many bots in one statement (a batch decision): every id asked for has an entry. */
export async function readBotPositions(m: EntityManager, botIds: readonly string[]): Promise<Map<string, BotPosition>> {
  const rows = (await m.query(
    `SELECT b.bot_id, (coalesce(p.amount, 0) - coalesce(s.open_sells, 0))::text AS amount,
            coalesce(p.cost, 0)::text AS cost, p.last_target_signal_at, s.unsettled, coalesce(s.open_buys, 0)::text AS open_buys
       FROM unnest($1::uuid[]) AS b(bot_id)
       LEFT JOIN bot_positions p ON p.bot_id = b.bot_id
       CROSS JOIN LATERAL (
         SELECT sum(greatest(coalesce(o.amount, o.quote_amount / nullif(o.price, 0), 0) - o.filled, 0)) FILTER (WHERE o.side = 'sell') AS open_sells,
                sum(greatest(coalesce(o.amount, o.quote_amount / nullif(o.price, 0), 0) - o.filled, 0)) FILTER (WHERE o.side = 'buy') AS open_buys,
                count(*) FILTER (WHERE o.type = 'market')::int AS unsettled
           FROM orders o WHERE o.bot_id = b.bot_id AND o.status = 'open') s`,
    [[...new Set(botIds)]],
  )) as Array<{ bot_id: string; amount: string; cost: string; last_target_signal_at: Date | null; unsettled: number; open_buys: string }>;
  return new Map(
    rows.map((r) => [
      r.bot_id,
      { amount: new Decimal(r.amount), cost: new Decimal(r.cost), last_target_signal_at: r.last_target_signal_at, unsettled: r.unsettled, open_buys: new Decimal(r.open_buys) },
    ]),
  );
}

/** A target alert was applied (traded or found already at target): later, older alerts change nothing. */
export async function markTargetApplied(m: EntityManager, botId: string, signalAt: Date): Promise<void> {
  await m.query(
    `INSERT INTO bot_positions AS p (bot_id, last_target_signal_at) VALUES ($1, $2)
     ON CONFLICT (bot_id) DO UPDATE SET last_target_signal_at = greatest(p.last_target_signal_at, EXCLUDED.last_target_signal_at), updated_at = now()`,
    [botId, signalAt],
  );
}

/**
 * The bot now trades another market (PATCH /bots/{id} changed its symbol or mode while it held at
 * most dust — less than the old market's smallest order, which could never be sold): its position
 * starts over from zero in the new market.
 */
export async function resetBotPosition(m: EntityManager, botId: string): Promise<void> {
  await m.query(`UPDATE bot_positions SET amount = 0, cost = 0, last_target_signal_at = NULL, updated_at = now() WHERE bot_id = $1`, [botId]);
}

/** A managed-bot follower's position key: user, managed bot, symbol. */
export interface FollowerPositionKey {
  user_id: string;
  managed_bot_id: string;
  symbol: string;
  /** A follower's paper and live holdings are apart: a follow re-made in the other mode starts flat. */
  mode: string;
}

export const followerPositionKey = (k: FollowerPositionKey) => `${k.user_id}|${k.managed_bot_id}|${k.symbol}|${k.mode}`;

/**
 * A managed-bot follower's own position in one symbol, as sizing sees it: what their filled orders of
 * that managed bot bought (less fees paid in base) minus what they sold, less what open sells still
 * take — in the order's mode (paper fills never size a live sell). Followers have no bot row, so it is summed from their orders (served by
 * orders_managed_follower_idx); a follower's history on one managed bot is short.
 */
export async function readFollowerPosition(m: EntityManager, userId: string, managedBotId: string, symbol: string, mode: string): Promise<BotPosition> {
  const key = { user_id: userId, managed_bot_id: managedBotId, symbol, mode };
  return (await readFollowerPositions(m, [key])).get(followerPositionKey(key))!;
}

/** readFollowerPosition for many (follower, symbol) pairs in one statement, keyed by followerPositionKey. */
export async function readFollowerPositions(m: EntityManager, keys: readonly FollowerPositionKey[]): Promise<Map<string, BotPosition>> {
  const unique = [...new Map(keys.map((k) => [followerPositionKey(k), k])).values()];
  const rows = (await m.query(
    `SELECT k.user_id, k.managed_bot_id, k.symbol, k.mode, x.amount, x.unsettled
       FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::varchar[]) AS k(user_id, managed_bot_id, symbol, mode)
       CROSS JOIN LATERAL (
         SELECT (coalesce(sum(CASE WHEN o.side = 'buy' THEN ${NET_BASE('o.filled', 'o.fee', 'o.fee_currency')} ELSE -o.filled END) FILTER (WHERE o.filled > 0), 0)
                 - coalesce(sum(greatest(coalesce(o.amount, o.quote_amount / nullif(o.price, 0), 0) - o.filled, 0)) FILTER (WHERE o.status = 'open' AND o.side = 'sell'), 0))::text AS amount,
                count(*) FILTER (WHERE o.status = 'open' AND o.type = 'market')::int AS unsettled
           FROM orders o
          WHERE o.user_id = k.user_id AND o.managed_bot_id = k.managed_bot_id AND o.symbol = k.symbol AND o.mode = k.mode
            AND (o.filled > 0 OR o.status = 'open')) x`,
    [unique.map((k) => k.user_id), unique.map((k) => k.managed_bot_id), unique.map((k) => k.symbol), unique.map((k) => k.mode)],
  )) as Array<FollowerPositionKey & { amount: string; unsettled: number }>;
  return new Map(rows.map((r) => [followerPositionKey(r), { amount: new Decimal(r.amount), cost: new Decimal(0), last_target_signal_at: null, unsettled: r.unsettled }]));
}
