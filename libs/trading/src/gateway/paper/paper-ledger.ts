import { Decimal, isDatabaseUnavailable, toDecimalString } from '@torgovo/core';
import type { EntityManager } from 'typeorm';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { CLIENT_ORDER_ID, CreateOrderRequest, Market, Order, OrderSide, OrderStatus, OrderType } from '../exchange-gateway';
import { toExchangeError } from '../exchange-error-mapping';
import { quoteToBase, validateCostAgainstMarket, validateOrderAgainstMarket, validatePrice } from '../order-validation';
import { computeMarketFill } from './paper-math';
import { findPaperMarket } from './paper-markets';

/**
 * The paper exchange's statements and checks, shared by the one-user gateway (PaperExchangeGateway)
 * and the batch of fills (PaperBatchFills): one definition of how an order is validated, how
 * balances are locked and moved, and what a fill crosses.
 */

export interface PaperOrderRow {
  id: string;
  client_order_id: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  amount: string;
  price: string | null;
  filled: string;
  average: string | null;
  cost: string;
  fee: string;
  fee_currency: string | null;
  status: OrderStatus;
  created_at: Date;
}

export interface PaperBalanceRow {
  currency: string;
  free: string;
  used: string;
}

export const PAPER_ORDER_COLUMNS = `id, client_order_id, symbol, side, type, amount, price, filled, average, cost, fee, fee_currency, status, created_at`;

// PostgreSQL states worth a retry: serialization failure, deadlock, shutdown, too many connections.
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P03', '53300']);

/**
 * The paper exchange's own failures are ExchangeErrors too: a lost database is transient. That
 * includes node-postgres losing its socket ("Connection terminated unexpectedly": no SQLSTATE at
 * all), which was mapped as a bug of ours and rejected the order for good; a retry finds the order by
 * its client order id if the fill did commit, and fills it otherwise.
 */
export function toPaperError(error: unknown): ExchangeError {
  const sqlState = (error as { driverError?: { code?: unknown }; code?: unknown } | null)?.driverError?.code ?? (error as { code?: unknown } | null)?.code;
  if (typeof sqlState === 'string' && (TRANSIENT_SQLSTATES.has(sqlState) || sqlState.startsWith('08'))) {
    return ExchangeError.transient(C.unavailable, `paper exchange database busy (${sqlState})`);
  }
  if (isDatabaseUnavailable(error)) return ExchangeError.transient(C.unavailable, 'paper exchange database unavailable (connection lost)');
  return toExchangeError(error);
}

export function toPaperOrder(row: PaperOrderRow): Order {
  const dec = (v: string | null) => (v === null ? null : toDecimalString(v));
  return {
    exchangeOrderId: row.id,
    clientOrderId: row.client_order_id,
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    status: row.status,
    amount: toDecimalString(row.amount),
    // A paper cost order is stored as the base it bought at its known fill price.
    requestedCost: null,
    price: dec(row.price),
    filled: toDecimalString(row.filled),
    average: dec(row.average),
    cost: toDecimalString(row.cost),
    fee: toDecimalString(row.fee),
    feeCurrency: row.fee_currency,
    timestamp: row.created_at.getTime(),
  };
}

/** Whether a limit at `limit` trades against a last price: a buy at or above it, a sell at or below it. */
export function crosses(side: 'buy' | 'sell', limit: string, last: string | null): boolean {
  if (last === null) return false;
  return side === 'buy' ? new Decimal(limit).gte(last) : new Decimal(limit).lte(last);
}

export function paperMarket(symbol: string): Market {
  const market = findPaperMarket(symbol);
  if (!market) throw ExchangeError.permanent(C.badSymbol, `unknown market ${symbol}`);
  return market;
}

export function checkClientOrderId(clientOrderId: string): void {
  if (!CLIENT_ORDER_ID.test(clientOrderId)) throw ExchangeError.permanent(C.invalidOrder, 'clientOrderId must be 1 to 32 letters or digits');
}

export interface PreparedPaperOrder {
  market: Market;
  amount: string;
  price: string;
}

/** A request checked against the market, a cost order converted to what it buys at its fill price; throws a permanent ExchangeError. */
export function preparePaperOrder(request: CreateOrderRequest): PreparedPaperOrder {
  const market = paperMarket(request.symbol);
  if (request.price === undefined) {
    throw ExchangeError.permanent(C.invalidOrder, `paper ${request.type} orders need a price (the fill price)`);
  }
  // A cost order (market buy) becomes what it buys at the fill price: paper knows that price already.
  let amount: string;
  if (request.cost !== undefined) {
    if (request.side !== 'buy' || request.type !== 'market') {
      throw ExchangeError.permanent(C.invalidOrder, 'only a market buy can be sized by cost');
    }
    amount = quoteToBase(validateCostAgainstMarket(market, request.cost), validatePrice(market, 'buy', request.price));
  } else {
    amount = request.amount;
  }
  const v = validateOrderAgainstMarket(market, request.side, amount, request.price);
  return { market, amount: v.amount, price: v.price! };
}

export function insufficientFunds(currency: string, free: Decimal.Value, amount: Decimal.Value): ExchangeError {
  return ExchangeError.permanent(
    C.insufficientFunds,
    `insufficient ${currency} balance: ${new Decimal(free).toFixed()} available, ${new Decimal(amount).toFixed()} required`,
  );
}

/** Creates the accounts with their starting balances on first use, atomically and once. */
export async function ensureAccounts(m: EntityManager, userIds: readonly string[], initialBalances: Record<string, string>): Promise<void> {
  const entries = Object.entries(initialBalances);
  await m.query(
    `WITH account AS (
       INSERT INTO paper_accounts (user_id) SELECT DISTINCT unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING user_id
     )
     INSERT INTO paper_balances (user_id, currency, free, used)
     SELECT account.user_id, seed.currency, seed.free, 0
       FROM account, unnest($2::varchar[], $3::numeric[]) AS seed(currency, free)`,
    [userIds, entries.map(([c]) => c), entries.map(([, v]) => v)],
  );
}

/** The (user, currency) balance rows that do not exist yet, created at zero (once: ON CONFLICT DO NOTHING). */
export async function ensureBalanceRows(m: EntityManager, pairs: ReadonlyArray<{ userId: string; currency: string }>): Promise<{ users: string[]; currencies: string[] }> {
  const unique = [...new Map(pairs.map((p) => [`${p.userId}:${p.currency}`, p])).values()];
  const users = unique.map((p) => p.userId);
  const currencies = unique.map((p) => p.currency);
  await m.query(
    `INSERT INTO paper_balances (user_id, currency, free, used)
     SELECT u, c, 0, 0 FROM unnest($1::uuid[], $2::varchar[]) AS k(u, c)
     ON CONFLICT (user_id, currency) DO NOTHING`,
    [users, currencies],
  );
  return { users, currencies };
}

/**
 * Row locks on (user, currency) balances in (user_id, currency) order — one user's in currency
 * order, as every paper transaction takes them — so two transactions can never deadlock on them.
 * Missing rows are created at zero first. Answers the locked rows keyed `user_id:currency`.
 */
export async function lockBalances(m: EntityManager, pairs: ReadonlyArray<{ userId: string; currency: string }>): Promise<Map<string, PaperBalanceRow>> {
  const { users, currencies } = await ensureBalanceRows(m, pairs);
  const rows: Array<PaperBalanceRow & { user_id: string }> = await m.query(
    `SELECT b.user_id, b.currency, b.free, b.used FROM paper_balances b
       JOIN unnest($1::uuid[], $2::varchar[]) AS k(u, c) ON b.user_id = k.u AND b.currency = k.c
      ORDER BY b.user_id, b.currency FOR UPDATE OF b`,
    [users, currencies],
  );
  return new Map(rows.map((r) => [`${r.user_id}:${r.currency}`, r]));
}

export async function addFree(m: EntityManager, userId: string, currency: string, delta: string): Promise<void> {
  await m.query(`UPDATE paper_balances SET free = free + $3::numeric, updated_at = now() WHERE user_id = $1 AND currency = $2`, [userId, currency, delta]);
}

/** Positive: reserve (free → used); negative: release (used → free). */
export async function moveToUsed(m: EntityManager, userId: string, currency: string, amount: string): Promise<void> {
  await m.query(
    `UPDATE paper_balances SET free = free - $3::numeric, used = used + $3::numeric, updated_at = now() WHERE user_id = $1 AND currency = $2`,
    [userId, currency, amount],
  );
}

/**
 * The price of the user's latest fill on the symbol (what fetchTicker answers), or null. Fills are
 * stamped with clock_timestamp() under the balance locks, so "latest" is the order they happened
 * in (now() is the transaction's start: one that started first but filled later would lose).
 * Limits a fill crossed are stamped just before that fill, so the fill's own price stays the last.
 */
export async function lastPrice(m: EntityManager, userId: string, symbol: string): Promise<string | null> {
  const rows: Array<{ average: string }> = await m.query(
    `SELECT average FROM paper_orders
      WHERE user_id = $1 AND symbol = $2 AND status = 'closed' AND average IS NOT NULL
      ORDER BY updated_at DESC LIMIT 1`,
    [userId, symbol],
  );
  return rows.length === 0 ? null : toDecimalString(rows[0].average);
}

/**
 * A fill at `observed` is a price the market traded at: the user's resting limits on that
 * symbol it crosses fill at their own limit prices, oldest first. Their funds were reserved in
 * `used` at exactly the fill's debit (computeReservation), so the debit leaves `used`.
 * Balances of both currencies are already locked by the caller.
 */
export async function fillCrossedLimits(m: EntityManager, userId: string, market: Market, observed: string, exceptId: string, feeRate: string): Promise<void> {
  const crossed: PaperOrderRow[] = await m.query(
    `SELECT ${PAPER_ORDER_COLUMNS} FROM paper_orders
      WHERE user_id = $1 AND symbol = $2 AND status = 'open' AND type = 'limit' AND id <> $4
        AND ((side = 'buy' AND price >= $3::numeric) OR (side = 'sell' AND price <= $3::numeric))
      ORDER BY created_at FOR UPDATE`,
    [userId, market.symbol, observed, exceptId],
  );
  for (const row of crossed) {
    const fill = computeMarketFill(market, row.side, toDecimalString(row.amount), toDecimalString(row.price!), feeRate);
    await moveToUsed(m, userId, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
    await addFree(m, userId, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
    await addFree(m, userId, fill.credit.currency, fill.credit.amount);
    await m.query(
      `UPDATE paper_orders SET status = 'closed', filled = amount, average = price, cost = $2, fee = $3, fee_currency = $4,
              updated_at = (SELECT updated_at FROM paper_orders WHERE id = $5) - interval '1 microsecond'
        WHERE id = $1`,
      [row.id, fill.cost, fill.fee, fill.feeCurrency, exceptId],
    );
  }
}

export async function findByClientId(m: EntityManager, userId: string, clientOrderId: string): Promise<PaperOrderRow | undefined> {
  const rows: PaperOrderRow[] = await m.query(`SELECT ${PAPER_ORDER_COLUMNS} FROM paper_orders WHERE user_id = $1 AND client_order_id = $2`, [userId, clientOrderId]);
  return rows[0];
}
