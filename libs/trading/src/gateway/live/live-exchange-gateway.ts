import { Decimal, KeyPermissions } from '@torgovo/core';
import type { MarketInterface } from 'ccxt';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { toExchangeError } from '../exchange-error-mapping';
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
  Ticker,
} from '../exchange-gateway';
import { validateCostAgainstMarket, validateOrderAgainstMarket } from '../order-validation';
import type { OkxClient } from './okx-client';
import {
  okxData,
  OkxRecord,
  parseOkxBalance,
  parseOkxDeposit,
  parseOkxDepositAddress,
  parseOkxMarket,
  parseOkxOrder,
  parseOkxKeyPermissions,
  parseOkxTicker,
} from './okx-parsers';

// Markets change rarely (listings, step changes); an hour keeps the rules fresh enough.
const MARKETS_TTL_MS = 60 * 60 * 1000;
// Per ccxt instance, which outlives the gateways made over it (see OkxClientCache).
const marketsLoadedAt = new WeakMap<OkxClient, number>();

/**
 * ccxt only hands out JS numbers; an amount goes to it only if that number prints back as the
 * very same decimal, so what ccxt signs and sends is exactly what we validated.
 */
function exactNumber(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || !new Decimal(String(n)).eq(value)) {
    throw ExchangeError.permanent(C.invalidAmount, `${what} ${value} cannot be sent exactly`);
  }
  return n;
}

/** A user's OKX account through ccxt. Reads OKX's own string fields from each response. */
export class LiveExchangeGateway implements ExchangeGateway {
  readonly kind = 'live' as const;

  constructor(
    private readonly client: OkxClient,
    /** Scrubbed from every error reason (the caller's key, secret and passphrase). */
    private readonly secrets: readonly (string | null | undefined)[] = [],
  ) {}

  async fetchBalance(): Promise<Balances> {
    return this.call(async () => {
      await this.markets();
      return parseOkxBalance((await this.client.fetchBalance()).info);
    });
  }

  /** What this API key may do and which IPs it is bound to (OKX GET /api/v5/account/config): read at every connect. */
  async fetchKeyPermissions(): Promise<KeyPermissions> {
    return this.call(async () => parseOkxKeyPermissions(await this.client.privateGetAccountConfig()));
  }

  async loadMarkets(): Promise<Market[]> {
    return this.call(async () => {
      const markets = await this.markets();
      return Object.values(markets)
        .filter((m): m is MarketInterface => m?.spot === true)
        .map((m) => parseOkxMarket(m.info as OkxRecord));
    });
  }

  async createOrder(request: CreateOrderRequest): Promise<Order> {
    if (!CLIENT_ORDER_ID.test(request.clientOrderId)) {
      throw ExchangeError.permanent(C.invalidOrder, 'clientOrderId must be 1 to 32 letters or digits');
    }
    const market = await this.market(request.symbol);
    const params = { clOrdId: request.clientOrderId };
    let send: () => Promise<{ id?: string }>;
    let sent: Pick<Order, 'amount' | 'requestedCost' | 'price'>;
    if (request.cost !== undefined) {
      if (request.side !== 'buy' || request.type !== 'market') {
        throw ExchangeError.permanent(C.invalidOrder, 'only a market buy can be sized by cost');
      }
      // sz in quote units (tgtCcy=quote_ccy), already cut to the step ccxt's costToPrecision
      // truncates to: ccxt sends this very number.
      const cost = validateCostAgainstMarket(market, request.cost);
      const n = exactNumber(cost, 'cost');
      send = () => this.client.createMarketBuyOrderWithCost(market.symbol, n, params);
      sent = { amount: '0', requestedCost: cost, price: null };
    } else {
      if (request.type === 'limit' && request.price === undefined) {
        throw ExchangeError.permanent(C.invalidOrder, 'a limit order needs a price');
      }
      const v = validateOrderAgainstMarket(market, request.side, request.amount, request.price);
      const amount = exactNumber(v.amount, 'amount');
      // Market orders are sent without a price: OKX fills them at the book (sz in base units).
      const price = request.type === 'limit' ? exactNumber(v.price!, 'price') : undefined;
      send = () => this.client.createOrder(market.symbol, request.type, request.side, amount, price, params);
      sent = { amount: v.amount, requestedCost: null, price: request.type === 'limit' ? v.price : null };
    }

    const placed = await this.call(send);
    // The place-order answer carries ids only; the fill is read back. If that read fails the order
    // still exists, so it is reported open and the caller syncs it later instead of retrying it.
    const ref = placed.id ? { id: placed.id } : { clientOrderId: request.clientOrderId };
    try {
      const order = await this.fetchOrder({ ...ref, symbol: market.symbol });
      if (order) return order;
    } catch {
      /* reported as open below */
    }
    return {
      exchangeOrderId: placed.id ?? '',
      clientOrderId: request.clientOrderId,
      symbol: market.symbol,
      side: request.side,
      type: request.type,
      status: 'open',
      ...sent,
      filled: '0',
      average: null,
      cost: '0',
      fee: '0',
      feeCurrency: null,
      timestamp: Date.now(),
    };
  }

  async fetchOrder(ref: OrderRef): Promise<Order | null> {
    const { id, params } = this.orderArgs(ref);
    try {
      const order = await this.call(async () => {
        await this.markets();
        return this.client.fetchOrder(id, ref.symbol, params);
      });
      return parseOkxOrder(order.info as OkxRecord, ref.symbol);
    } catch (error) {
      if (error instanceof ExchangeError && error.code === C.orderNotFound) return null;
      throw error;
    }
  }

  async cancelOrder(ref: OrderRef): Promise<Order> {
    const { id, params } = this.orderArgs(ref);
    try {
      await this.call(async () => {
        await this.markets();
        return this.client.cancelOrder(id, ref.symbol, params);
      });
    } catch (error) {
      // OKX also answers "not found" for orders already filled or cancelled: those are returned as they are.
      if (!(error instanceof ExchangeError && error.code === C.orderNotFound)) throw error;
    }
    const order = await this.fetchOrder(ref);
    if (!order) throw ExchangeError.permanent(C.orderNotFound, 'order does not exist');
    return order;
  }

  async fetchDepositAddress(currency: string, network?: string): Promise<DepositAddress> {
    // The raw endpoint: ccxt's unified call maps chains through currency metadata we do not load.
    const response = await this.call(() => this.client.privateGetAssetDepositAddress({ ccy: currency }));
    return parseOkxDepositAddress(response, currency, network);
  }

  async fetchDeposits(currency?: string, since?: number): Promise<Deposit[]> {
    const params: Record<string, string> = {};
    if (currency) params.ccy = currency;
    // OKX `before` = strictly newer than; `since` is inclusive.
    if (since !== undefined) params.before = String(Math.max(since - 1, 0));
    const response = await this.call(() => this.client.privateGetAssetDepositHistory(params));
    return okxData(response).map(parseOkxDeposit);
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    const market = await this.market(symbol);
    const response = await this.call(() => this.client.publicGetMarketTicker({ instId: market.id }));
    const row = okxData(response)[0];
    if (!row) throw ExchangeError.permanent(C.noPrice, `no ticker for ${symbol}`);
    return parseOkxTicker(row, market.symbol);
  }

  private orderArgs(ref: OrderRef): { id: string; params: Record<string, string> } {
    if (ref.id !== undefined) return { id: ref.id, params: {} };
    if (ref.clientOrderId !== undefined) return { id: '', params: { clOrdId: ref.clientOrderId } };
    throw ExchangeError.permanent(C.badRequest, 'an order id or a client order id is required');
  }

  private async markets(): Promise<Record<string, MarketInterface | undefined>> {
    const at = marketsLoadedAt.get(this.client);
    // ccxt keeps a failed loadMarkets promise and hands it out again; `reload` starts a fresh
    // one (or joins a load in flight), so one network blip does not poison a cached client.
    const reload = at === undefined || Date.now() - at > MARKETS_TTL_MS;
    const markets: Record<string, MarketInterface | undefined> = await this.client.loadMarkets(reload);
    if (reload) marketsLoadedAt.set(this.client, Date.now());
    return markets;
  }

  private async market(symbol: string): Promise<Market> {
    const markets = await this.call(() => this.markets());
    const m = markets[symbol];
    if (!m || !m.spot) throw ExchangeError.permanent(C.badSymbol, `unknown market ${symbol}`);
    return parseOkxMarket(m.info as OkxRecord);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toExchangeError(error, this.secrets);
    }
  }
}
