import { Decimal, toDecimalString } from '@torgovo/core';
import type { DataSource, EntityManager } from 'typeorm';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import {
  Balances,
  CLIENT_ORDER_ID,
  CreateOrderRequest,
  Deposit,
  DepositAddress,
  ExchangeGateway,
  Market,
  Order,
  OrderRef,
  OrderSide,
  OrderStatus,
  OrderType,
  Ticker,
} from '../exchange-gateway';
import { toExchangeError } from '../exchange-error-mapping';
import { quoteToBase, validateCostAgainstMarket, validateOrderAgainstMarket, validatePrice } from '../order-validation';
import { computeMarketFill, computeReservation, PAPER_TAKER_FEE_RATE } from './paper-math';
import { findPaperMarket, PAPER_MARKETS } from './paper-markets';

export interface PaperExchangeOptions {
  /** What a new paper account starts with, e.g. { USDT: '10000' }. */
  initialBalances: Record<string, string>;
  takerFeeRate: string;
}

export const DEFAULT_PAPER_EXCHANGE_OPTIONS: PaperExchangeOptions = Object.freeze({
  initialBalances: Object.freeze({ USDT: '10000' }),
  takerFeeRate: PAPER_TAKER_FEE_RATE,
});

interface OrderRow {
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

interface BalanceRow {
  currency: string;
  free: string;
  used: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ORDER_COLUMNS = `id, client_order_id, symbol, side, type, amount, price, filled, average, cost, fee, fee_currency, status, created_at`;

// PostgreSQL states worth a retry: serialization failure, deadlock, shutdown, too many connections.
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P03', '53300']);

/** The paper exchange's own failures are ExchangeErrors too: a lost database is transient. */
function toPaperError(error: unknown): ExchangeError {
  const sqlState = (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  if (typeof sqlState === 'string' && (TRANSIENT_SQLSTATES.has(sqlState) || sqlState.startsWith('08'))) {
    return ExchangeError.transient(C.unavailable, `paper exchange database busy (${sqlState})`);
  }
  return toExchangeError(error);
}

function toOrder(row: OrderRow): Order {
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
function crosses(side: 'buy' | 'sell', limit: string, last: string | null): boolean {
  if (last === null) return false;
  return side === 'buy' ? new Decimal(limit).gte(last) : new Decimal(limit).lte(last);
}

/**
 * Our own simulated exchange for one user, in PostgreSQL. Market orders fill at once at the price
 * the caller gives (there is no price feed), on the tick like a limit: a buy rounded down, a sell up. The price of each fill is the user's last observed
 * price on that symbol: a limit order marketable against it fills at once at its limit price;
 * otherwise it rests `open` with its funds in `used`, and fills at its limit price when a later
 * fill on that symbol observes a price that crosses it (a buy limit at or above, a sell limit at
 * or below), or until cancelled. Balances change only inside one transaction holding row locks.
 *
 * fetchTicker answers with the user's last fill price on that symbol, or a permanent `no_price`
 * error before the first fill. Deposits do not exist on paper (permanent `not_supported`).
 */
export class PaperExchangeGateway implements ExchangeGateway {
  readonly kind = 'paper' as const;

  constructor(
    private readonly dataSource: DataSource,
    readonly userId: string,
    private readonly options: PaperExchangeOptions = DEFAULT_PAPER_EXCHANGE_OPTIONS,
  ) {}

  async fetchBalance(): Promise<Balances> {
    return this.transaction(async (m) => {
      await this.ensureAccount(m);
      const rows: BalanceRow[] = await m.query(
        `SELECT currency, free, used FROM paper_balances WHERE user_id = $1 ORDER BY currency`,
        [this.userId],
      );
      const result: Balances = {};
      for (const r of rows) {
        result[r.currency] = {
          free: toDecimalString(r.free),
          used: toDecimalString(r.used),
          total: new Decimal(r.free).plus(r.used).toFixed(),
        };
      }
      return result;
    });
  }

  async loadMarkets(): Promise<Market[]> {
    return PAPER_MARKETS.map((m) => ({ ...m }));
  }

  async createOrder(request: CreateOrderRequest): Promise<Order> {
    if (!CLIENT_ORDER_ID.test(request.clientOrderId)) {
      throw ExchangeError.permanent(C.invalidOrder, 'clientOrderId must be 1 to 32 letters or digits');
    }
    // Same client order id = same order, whatever the request says now (a retry after a crash).
    const existing = await this.guard(() => this.findByClientId(this.dataSource.manager, request.clientOrderId));
    if (existing) return toOrder(existing);

    const market = this.market(request.symbol);
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
    const price = v.price!;

    return this.transaction(async (m) => {
      await this.ensureAccount(m);
      const locked = await this.lockBalances(m, [market.base, market.quote]);
      const marketable = request.type === 'market' || crosses(request.side, price, await this.lastPrice(m, market.symbol));
      const fill = marketable ? computeMarketFill(market, request.side, v.amount, price, this.options.takerFeeRate) : null;
      const inserted: OrderRow[] = await m.query(
        `INSERT INTO paper_orders
           (user_id, client_order_id, symbol, side, type, amount, price, filled, average, cost, fee, fee_currency, status, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, clock_timestamp())
         ON CONFLICT (user_id, client_order_id) DO NOTHING
         RETURNING ${ORDER_COLUMNS}`,
        [
          this.userId,
          request.clientOrderId,
          market.symbol,
          request.side,
          request.type,
          v.amount,
          request.type === 'limit' ? price : null,
          fill?.filled ?? '0',
          fill?.average ?? null,
          fill?.cost ?? '0',
          fill?.fee ?? '0',
          fill?.feeCurrency ?? null,
          fill ? 'closed' : 'open',
        ],
      );
      if (inserted.length === 0) {
        // A concurrent call with the same client order id committed first: that one is the order.
        return toOrder((await this.findByClientId(m, request.clientOrderId))!);
      }

      if (fill) {
        this.requireFree(locked, fill.debit.currency, fill.debit.amount);
        await this.addFree(m, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
        await this.addFree(m, fill.credit.currency, fill.credit.amount);
        await this.fillCrossedLimits(m, market, price, inserted[0].id);
      } else {
        const hold = computeReservation(market, request.side, v.amount, price);
        this.requireFree(locked, hold.currency, hold.amount);
        await this.moveToUsed(m, hold.currency, hold.amount);
      }
      return toOrder(inserted[0]);
    });
  }

  async fetchOrder(ref: OrderRef): Promise<Order | null> {
    const row = await this.guard(() => this.findByRef(this.dataSource.manager, ref, false));
    return row ? toOrder(row) : null;
  }

  async cancelOrder(ref: OrderRef): Promise<Order> {
    return this.transaction(async (m) => {
      // Balances first, then the order row: the order createOrder takes them in (it locks the
      // balances, then the resting limits it crosses), so a cancel racing a crossing fill waits
      // instead of deadlocking. The row is read again under its lock: a cross may have filled it.
      const seen = await this.findByRef(m, ref, false);
      if (!seen) throw ExchangeError.permanent(C.orderNotFound, 'order does not exist');
      const market = this.market(seen.symbol);
      await this.lockBalances(m, [market.base, market.quote]);
      const row = (await this.findByRef(m, { id: seen.id, symbol: seen.symbol }, true))!;
      if (row.status === 'canceled') return toOrder(row);
      if (row.status !== 'open') {
        throw ExchangeError.permanent(C.orderNotOpen, `order is already ${row.status}`);
      }
      const hold = computeReservation(market, row.side, row.amount, row.price!);
      await this.moveToUsed(m, hold.currency, new Decimal(hold.amount).neg().toFixed());
      // TypeORM answers an UPDATE with [rows, affected].
      const [updated]: [OrderRow[], number] = await m.query(
        `UPDATE paper_orders SET status = 'canceled', updated_at = now() WHERE id = $1 RETURNING ${ORDER_COLUMNS}`,
        [row.id],
      );
      return toOrder(updated[0]);
    });
  }

  async fetchDepositAddress(currency: string): Promise<DepositAddress> {
    throw ExchangeError.permanent(C.notSupported, `the paper exchange has no deposit address for ${currency}`);
  }

  async fetchDeposits(): Promise<Deposit[]> {
    throw ExchangeError.permanent(C.notSupported, 'the paper exchange has no deposits');
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    const market = this.market(symbol);
    const last = await this.guard(() => this.lastPrice(this.dataSource.manager, market.symbol));
    if (last === null) {
      throw ExchangeError.permanent(C.noPrice, `the paper exchange has no price for ${symbol} before its first fill`);
    }
    return { symbol: market.symbol, last, bid: null, ask: null };
  }

  /**
   * The price of the user's latest fill on the symbol (what fetchTicker answers), or null. Fills are
   * stamped with clock_timestamp() under the balance locks, so "latest" is the order they happened
   * in (now() is the transaction's start: one that started first but filled later would lose).
   * Limits a fill crossed are stamped just before that fill, so the fill's own price stays the last.
   */
  private async lastPrice(m: EntityManager, symbol: string): Promise<string | null> {
    const rows: Array<{ average: string }> = await m.query(
      `SELECT average FROM paper_orders
        WHERE user_id = $1 AND symbol = $2 AND status = 'closed' AND average IS NOT NULL
        ORDER BY updated_at DESC LIMIT 1`,
      [this.userId, symbol],
    );
    return rows.length === 0 ? null : toDecimalString(rows[0].average);
  }

  /**
   * A fill at `observed` is a price the market traded at: the user's resting limits on that
   * symbol it crosses fill at their own limit prices, oldest first. Their funds were reserved in
   * `used` at exactly the fill's debit (computeReservation), so the debit leaves `used`.
   * Balances of both currencies are already locked by the caller.
   */
  private async fillCrossedLimits(m: EntityManager, market: Market, observed: string, exceptId: string): Promise<void> {
    const crossed: OrderRow[] = await m.query(
      `SELECT ${ORDER_COLUMNS} FROM paper_orders
        WHERE user_id = $1 AND symbol = $2 AND status = 'open' AND type = 'limit' AND id <> $4
          AND ((side = 'buy' AND price >= $3::numeric) OR (side = 'sell' AND price <= $3::numeric))
        ORDER BY created_at FOR UPDATE`,
      [this.userId, market.symbol, observed, exceptId],
    );
    for (const row of crossed) {
      const fill = computeMarketFill(market, row.side, toDecimalString(row.amount), toDecimalString(row.price!), this.options.takerFeeRate);
      await this.moveToUsed(m, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
      await this.addFree(m, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
      await this.addFree(m, fill.credit.currency, fill.credit.amount);
      await m.query(
        `UPDATE paper_orders SET status = 'closed', filled = amount, average = price, cost = $2, fee = $3, fee_currency = $4,
                updated_at = (SELECT updated_at FROM paper_orders WHERE id = $5) - interval '1 microsecond'
          WHERE id = $1`,
        [row.id, fill.cost, fill.fee, fill.feeCurrency, exceptId],
      );
    }
  }

  private transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.guard(() => this.dataSource.transaction(work));
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toPaperError(error);
    }
  }

  private market(symbol: string): Market {
    const market = findPaperMarket(symbol);
    if (!market) throw ExchangeError.permanent(C.badSymbol, `unknown market ${symbol}`);
    return market;
  }

  /** Creates the account with its starting balances on first use, atomically and once. */
  private async ensureAccount(m: EntityManager): Promise<void> {
    const entries = Object.entries(this.options.initialBalances);
    await m.query(
      `WITH account AS (
         INSERT INTO paper_accounts (user_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING user_id
       )
       INSERT INTO paper_balances (user_id, currency, free, used)
       SELECT account.user_id, seed.currency, seed.free, 0
         FROM account, unnest($2::varchar[], $3::numeric[]) AS seed(currency, free)`,
      [this.userId, entries.map(([c]) => c), entries.map(([, v]) => v)],
    );
  }

  /** Row locks in currency order, so two orders of one user can never deadlock. */
  private async lockBalances(m: EntityManager, currencies: string[]): Promise<Map<string, BalanceRow>> {
    const unique = [...new Set(currencies)].sort();
    await m.query(
      `INSERT INTO paper_balances (user_id, currency, free, used)
       SELECT $1, c, 0, 0 FROM unnest($2::varchar[]) AS c
       ON CONFLICT (user_id, currency) DO NOTHING`,
      [this.userId, unique],
    );
    const rows: BalanceRow[] = await m.query(
      `SELECT currency, free, used FROM paper_balances
        WHERE user_id = $1 AND currency = ANY($2::varchar[])
        ORDER BY currency FOR UPDATE`,
      [this.userId, unique],
    );
    return new Map(rows.map((r) => [r.currency, r]));
  }

  private requireFree(locked: Map<string, BalanceRow>, currency: string, amount: string): void {
    const free = new Decimal(locked.get(currency)?.free ?? '0');
    if (free.lt(amount)) {
      throw ExchangeError.permanent(
        C.insufficientFunds,
        `insufficient ${currency} balance: ${free.toFixed()} available, ${new Decimal(amount).toFixed()} required`,
      );
    }
  }

  private async addFree(m: EntityManager, currency: string, delta: string): Promise<void> {
    await m.query(
      `UPDATE paper_balances SET free = free + $3::numeric, updated_at = now() WHERE user_id = $1 AND currency = $2`,
      [this.userId, currency, delta],
    );
  }

  /** Positive: reserve (free → used); negative: release (used → free). */
  private async moveToUsed(m: EntityManager, currency: string, amount: string): Promise<void> {
    await m.query(
      `UPDATE paper_balances
          SET free = free - $3::numeric, used = used + $3::numeric, updated_at = now()
        WHERE user_id = $1 AND currency = $2`,
      [this.userId, currency, amount],
    );
  }

  private async findByClientId(m: EntityManager, clientOrderId: string): Promise<OrderRow | undefined> {
    const rows: OrderRow[] = await m.query(
      `SELECT ${ORDER_COLUMNS} FROM paper_orders WHERE user_id = $1 AND client_order_id = $2`,
      [this.userId, clientOrderId],
    );
    return rows[0];
  }

  private async findByRef(m: EntityManager, ref: OrderRef, lock: boolean): Promise<OrderRow | undefined> {
    const forUpdate = lock ? 'FOR UPDATE' : '';
    let rows: OrderRow[];
    if (ref.id !== undefined) {
      if (!UUID.test(ref.id)) return undefined;
      rows = await m.query(`SELECT ${ORDER_COLUMNS} FROM paper_orders WHERE user_id = $1 AND id = $2 ${forUpdate}`, [this.userId, ref.id]);
    } else if (ref.clientOrderId !== undefined) {
      rows = await m.query(
        `SELECT ${ORDER_COLUMNS} FROM paper_orders WHERE user_id = $1 AND client_order_id = $2 ${forUpdate}`,
        [this.userId, ref.clientOrderId],
      );
    } else {
      throw ExchangeError.permanent(C.badRequest, 'an order id or a client order id is required');
    }
    const row = rows[0];
    return row && row.symbol === ref.symbol ? row : undefined;
  }
}
