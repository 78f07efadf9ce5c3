import { Decimal, toDecimalString } from '@torgovo/core';
import type { DataSource, EntityManager } from 'typeorm';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { Balances, CreateOrderRequest, Deposit, DepositAddress, ExchangeGateway, Market, Order, OrderRef, Ticker } from '../exchange-gateway';
import {
  addFree,
  checkClientOrderId,
  crosses,
  ensureAccounts,
  fillCrossedLimits,
  findByClientId,
  insufficientFunds,
  lastPrice,
  lockBalances,
  moveToUsed,
  PAPER_ORDER_COLUMNS as ORDER_COLUMNS,
  PaperBalanceRow as BalanceRow,
  PaperOrderRow as OrderRow,
  paperMarket,
  preparePaperOrder,
  toPaperError,
  toPaperOrder as toOrder,
} from './paper-ledger';
import { computeMarketFill, computeReservation, PAPER_TAKER_FEE_RATE } from './paper-math';
import { PAPER_MARKETS } from './paper-markets';

export interface PaperExchangeOptions {
  /** What a new paper account starts with, e.g. { USDT: '10000' }. */
  initialBalances: Record<string, string>;
  takerFeeRate: string;
}

export const DEFAULT_PAPER_EXCHANGE_OPTIONS: PaperExchangeOptions = Object.freeze({
  initialBalances: Object.freeze({ USDT: '10000' }),
  takerFeeRate: PAPER_TAKER_FEE_RATE,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

  /** The paper exchange answers a placement with its fill: there is nothing to read back. */
  placeOrder(request: CreateOrderRequest): Promise<Order> {
    return this.createOrder(request);
  }

  async readBack(placed: Order): Promise<Order> {
    return placed;
  }

  async createOrder(request: CreateOrderRequest): Promise<Order> {
    checkClientOrderId(request.clientOrderId);
    // Same client order id = same order, whatever the request says now (a retry after a crash).
    const existing = await this.guard(() => findByClientId(this.dataSource.manager, this.userId, request.clientOrderId));
    if (existing) return toOrder(existing);
    const { market, amount, price } = preparePaperOrder(request);

    return this.transaction(async (m) => {
      await this.ensureAccount(m);
      const locked = await this.lockBalances(m, [market.base, market.quote]);
      const marketable = request.type === 'market' || crosses(request.side, price, await lastPrice(m, this.userId, market.symbol));
      const fill = marketable ? computeMarketFill(market, request.side, amount, price, this.options.takerFeeRate) : null;
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
          amount,
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
        return toOrder((await findByClientId(m, this.userId, request.clientOrderId))!);
      }

      if (fill) {
        this.requireFree(locked, fill.debit.currency, fill.debit.amount);
        await this.addFree(m, fill.debit.currency, new Decimal(fill.debit.amount).neg().toFixed());
        await this.addFree(m, fill.credit.currency, fill.credit.amount);
        await fillCrossedLimits(m, this.userId, market, price, inserted[0].id, this.options.takerFeeRate);
      } else {
        const hold = computeReservation(market, request.side, amount, price);
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
    const last = await this.guard(() => lastPrice(this.dataSource.manager, this.userId, market.symbol));
    if (last === null) {
      throw ExchangeError.permanent(C.noPrice, `the paper exchange has no price for ${symbol} before its first fill`);
    }
    return { symbol: market.symbol, last, bid: null, ask: null };
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
    return paperMarket(symbol);
  }

  private ensureAccount(m: EntityManager): Promise<void> {
    return ensureAccounts(m, [this.userId], this.options.initialBalances);
  }

  /** Row locks in currency order, so two orders of one user can never deadlock. */
  private async lockBalances(m: EntityManager, currencies: string[]): Promise<Map<string, BalanceRow>> {
    const locked = await lockBalances(m, currencies.map((currency) => ({ userId: this.userId, currency })));
    return new Map([...locked.values()].map((r) => [r.currency, r]));
  }

  private requireFree(locked: Map<string, BalanceRow>, currency: string, amount: string): void {
    const free = new Decimal(locked.get(currency)?.free ?? '0');
    if (free.lt(amount)) throw insufficientFunds(currency, free, amount);
  }

  private addFree(m: EntityManager, currency: string, delta: string): Promise<void> {
    return addFree(m, this.userId, currency, delta);
  }

  private moveToUsed(m: EntityManager, currency: string, amount: string): Promise<void> {
    return moveToUsed(m, this.userId, currency, amount);
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
