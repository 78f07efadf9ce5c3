import { Logger } from '@nestjs/common';
import { ExchangeCredentials, KeyPermissions, OkxCall } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { describeFailure } from '../exchange-error-mapping';
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
import { assertOkx } from './okx-client';
import type { OkxEndpoint } from './okx-endpoint';
import {
  okxData,
  parseOkxBalance,
  parseOkxDeposit,
  parseOkxDepositAddress,
  parseOkxKeyPermissions,
  parseOkxOrder,
} from './okx-parsers';
import { OKX_LIMITS, RateWindow, rateAccountOf } from './okx-rate-limits';

const logger = new Logger('LiveExchangeGateway');

/**
 * A user's OKX account. Calls OKX's raw v5 endpoints through ccxt (signing, HTTP, OKX's error codes:
 * a pooled instance in this process, or the OKX call process; OkxEndpoint's runner) and reads OKX's
 * own string fields: amounts and prices go out as the decimal strings we validated, never through a
 * JS number. Made per use and cheap: it holds only the
 * credentials; everything shared lives in its OkxEndpoint.
 *
 * Calls per order: markets come from the endpoint's shared table (no call); the ticker only when the
 * caller asks (sizing, slippage), shared across accounts for a second; the placement; and one read
 * of the order, because OKX's place-order answer carries only ordId/clOrdId/sCode, never the fill.
 */
export class LiveExchangeGateway implements ExchangeGateway {
  readonly kind = 'live' as const;
  private readonly account: string;
  /** Scrubbed from every error reason and log line. */
  private readonly secrets: readonly string[];

  constructor(
    private readonly endpoint: OkxEndpoint,
    private readonly credentials: ExchangeCredentials,
  ) {
    assertOkx(credentials);
    this.account = rateAccountOf(credentials.apiKey, credentials.sandbox);
    this.secrets = [credentials.apiKey, credentials.secret, credentials.passphrase ?? ''];
  }

  async fetchBalance(): Promise<Balances> {
    return parseOkxBalance(await this.signed(OKX_LIMITS.balance(this.account), { method: 'privateGetAccountBalance' }));
  }

  /** What this API key may do and which IPs it is bound to (OKX GET /api/v5/account/config): read at every connect. */
  async fetchKeyPermissions(): Promise<KeyPermissions> {
    return parseOkxKeyPermissions(await this.signed(OKX_LIMITS.accountConfig(this.account), { method: 'privateGetAccountConfig' }));
  }

  async loadMarkets(): Promise<Market[]> {
    const table = await this.call(() => this.endpoint.markets());
    return [...table.values()].map((m) => ({ ...m }));
  }

  async createOrder(request: CreateOrderRequest): Promise<Order> {
    return this.readBack(await this.placeOrder(request));
  }

  /**
   * The placement alone: OKX's answer carries ids only, so this is the order as sent, `open`, with
   * OKX's order id. Its fill is read by readBack (createOrder does both).
   */
  async placeOrder(request: CreateOrderRequest): Promise<Order> {
    if (!CLIENT_ORDER_ID.test(request.clientOrderId)) {
      throw ExchangeError.permanent(C.invalidOrder, 'clientOrderId must be 1 to 32 letters or digits');
    }
    const market = await this.market(request.symbol);
    const body: Record<string, string> = { instId: market.id, tdMode: 'cash', side: request.side, ordType: request.type, clOrdId: request.clientOrderId };
    let sent: Pick<Order, 'amount' | 'requestedCost' | 'price'>;
    if (request.cost !== undefined) {
      if (request.side !== 'buy' || request.type !== 'market') {
        throw ExchangeError.permanent(C.invalidOrder, 'only a market buy can be sized by cost');
      }
      // sz in quote units (tgtCcy=quote_ccy), cut to the quote step.
      body.sz = validateCostAgainstMarket(market, request.cost);
      body.tgtCcy = 'quote_ccy';
      sent = { amount: '0', requestedCost: body.sz, price: null };
    } else {
      if (request.type === 'limit' && request.price === undefined) {
        throw ExchangeError.permanent(C.invalidOrder, 'a limit order needs a price');
      }
      const v = validateOrderAgainstMarket(market, request.side, request.amount, request.price);
      body.sz = v.amount;
      // Market orders go without a price (OKX fills them at the book), sz in base units; tgtCcy is
      // for spot market orders only, and a market buy would otherwise default to quote units.
      if (request.type === 'limit') body.px = v.price!;
      else body.tgtCcy = 'base_ccy';
      sent = { amount: v.amount, requestedCost: null, price: request.type === 'limit' ? v.price : null };
    }

    // expTime: OKX drops the order if it reaches the matching engine after our own timeout — or
    // after the caller's deadline (the send fence's bound from the decision), whichever comes
    // first — so a placement we stopped waiting for, or one a stop no longer waits for, is never
    // placed later behind our back (answered 50036, known not placed).
    const timeoutMs = this.endpoint.options.timeoutMs ?? 10_000;
    const placed = await this.signed(
      OKX_LIMITS.place(this.account, market.id),
      { method: 'privatePostTradeOrder', params: body },
      () => ({ expTime: String(Math.min(Date.now() + timeoutMs, request.deadline ?? Infinity)) }),
    );
    const ordId = okxData(placed)[0]?.ordId;
    return {
      exchangeOrderId: typeof ordId === 'string' ? ordId : '',
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

  /**
   * The placed order as OKX has it now (its fill). If that read fails the order still exists, so it
   * is reported as placed (open) and the caller syncs it later instead of retrying it.
   */
  async readBack(placed: Order): Promise<Order> {
    const ref: OrderRef =
      placed.exchangeOrderId !== '' ? { id: placed.exchangeOrderId, symbol: placed.symbol } : { clientOrderId: placed.clientOrderId ?? undefined, symbol: placed.symbol };
    try {
      return (await this.fetchOrder(ref)) ?? placed;
    } catch {
      return placed;
    }
  }

  async fetchOrder(ref: OrderRef): Promise<Order | null> {
    const market = await this.market(ref.symbol);
    try {
      const response = await this.signed(OKX_LIMITS.readOrder(this.account, market.id), { method: 'privateGetTradeOrder', params: this.orderParams(market, ref) });
      const row = okxData(response)[0];
      return row ? parseOkxOrder(row, market.symbol) : null;
    } catch (error) {
      if (error instanceof ExchangeError && error.code === C.orderNotFound) return null;
      throw error;
    }
  }

  async cancelOrder(ref: OrderRef): Promise<Order> {
    const market = await this.market(ref.symbol);
    try {
      await this.signed(OKX_LIMITS.cancel(this.account, market.id), { method: 'privatePostTradeCancelOrder', params: this.orderParams(market, ref) });
    } catch (error) {
      // OKX also answers "not found" for orders already filled or cancelled: those are returned as they are.
      if (!(error instanceof ExchangeError && error.code === C.orderNotFound)) throw error;
    }
    const order = await this.fetchOrder(ref);
    if (!order) throw ExchangeError.permanent(C.orderNotFound, 'order does not exist');
    return order;
  }

  async fetchDepositAddress(currency: string, network?: string): Promise<DepositAddress> {
    const response = await this.signed(OKX_LIMITS.depositAddress(this.account), { method: 'privateGetAssetDepositAddress', params: { ccy: currency } });
    return parseOkxDepositAddress(response, currency, network);
  }

  async fetchDeposits(currency?: string, since?: number): Promise<Deposit[]> {
    const params: Record<string, string> = {};
    if (currency) params.ccy = currency;
    // OKX `before` = strictly newer than; `since` is inclusive.
    if (since !== undefined) params.before = String(Math.max(since - 1, 0));
    const response = await this.signed(OKX_LIMITS.depositHistory(this.account), { method: 'privateGetAssetDepositHistory', params });
    return okxData(response).map(parseOkxDeposit);
  }

  /** At most TICKER_TTL_MS old: one read serves every account asking within that time. */
  async fetchTicker(symbol: string): Promise<Ticker> {
    const market = await this.market(symbol);
    return { ...(await this.call(() => this.endpoint.ticker(market))) };
  }

  private orderParams(market: Market, ref: OrderRef): Record<string, string> {
    if (ref.id !== undefined) return { instId: market.id, ordId: ref.id };
    if (ref.clientOrderId !== undefined) return { instId: market.id, clOrdId: ref.clientOrderId };
    throw ExchangeError.permanent(C.badRequest, 'an order id or a client order id is required');
  }

  private async market(symbol: string): Promise<Market> {
    const m = (await this.call(() => this.endpoint.markets())).get(symbol);
    if (!m) throw ExchangeError.permanent(C.badSymbol, `unknown market ${symbol}`);
    return m;
  }

  private signed(windows: readonly RateWindow[], call: OkxCall, headers?: () => Record<string, string>): Promise<unknown> {
    return this.call(() => this.endpoint.signed(this.credentials, windows, call, headers));
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const { failure, detail } = describeFailure(error, this.secrets);
      // The trader reads `failure.reason`; what ccxt said (URL, socket error) is for us, scrubbed.
      if (detail !== null) logger.warn({ code: failure.code, exchange_code: failure.exchangeCode, detail }, 'OKX request failed');
      throw failure;
    }
  }
}
