// Every amount and price crossing this interface is a decimal string ("0.1", "73384.8"): never a JS number.

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
export type OrderStatus = 'open' | 'closed' | 'canceled' | 'rejected';
export type DepositStatus = 'pending' | 'ok' | 'failed';

export interface BalanceEntry {
  free: string;
  used: string;
  total: string;
}

/** Keyed by currency code ("USDT"). */
export type Balances = Record<string, BalanceEntry>;

export interface Market {
  /** Unified symbol, e.g. "BTC/USDT". */
  symbol: string;
  /** Exchange id, e.g. "BTC-USDT". */
  id: string;
  base: string;
  quote: string;
  active: boolean;
  /** Amount step (lot size) in base units, e.g. "0.00000001". */
  amountPrecision: string;
  /** Price step (tick size) in quote units, e.g. "0.1". */
  pricePrecision: string;
  minAmount: string | null;
  /** Minimum order value in quote units; null when the exchange has none (OKX spot). */
  minCost: string | null;
}

/**
 * How big an order is: base units (`amount`), or, for a market buy only, the quote it spends
 * (`cost`; the exchange works out the base at the fill, OKX tgtCcy=quote_ccy). Never both; a cost
 * on anything but a market buy is refused as invalid_order.
 */
export type OrderSize = { amount: string; cost?: never } | { cost: string; amount?: never };

export type CreateOrderRequest = OrderSize & {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  /** Limit price; for paper market orders the fill price (a paper cost order is converted at it). */
  price?: string;
  /** ≤ 32 alphanumeric characters; our reconciliation key. */
  clientOrderId: string;
  /**
   * Epoch ms after which the exchange must not place it (OKX: the request's expTime, checked by its
   * matching engine), whenever the request leaves: the send fence's bound from the placement decision
   * (sendDeadline). Without it, the call's own timeout from when it leaves.
   */
  deadline?: number;
};

export interface Order {
  exchangeOrderId: string;
  clientOrderId: string | null;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  status: OrderStatus;
  /** Base units. For an order sized by cost the base is known only from the fill: equal to `filled`. */
  amount: string;
  /**
   * The quote a market buy sized by cost was asked to spend (OKX sz with tgtCcy=quote_ccy); null when
   * sized in base, and on paper, which turns a cost into base at its known fill price when placing.
   */
  requestedCost: string | null;
  /** Limit price (null for market orders). */
  price: string | null;
  filled: string;
  average: string | null;
  cost: string;
  fee: string;
  feeCurrency: string | null;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Why a `rejected` order was refused, as the exchange says (its reason, else its own state name). */
  rejectReason?: string | null;
}

/** Look an order up by the exchange's id or by our client order id (one is required). */
export interface OrderRef {
  id?: string;
  clientOrderId?: string;
  symbol: string;
}

export interface DepositAddress {
  currency: string;
  address: string;
  tag: string | null;
  network: string | null;
}

export interface Deposit {
  id: string | null;
  txId: string | null;
  currency: string;
  amount: string;
  address: string | null;
  tag: string | null;
  network: string | null;
  status: DepositStatus;
  timestamp: number;
}

export interface Ticker {
  symbol: string;
  last: string | null;
  bid: string | null;
  ask: string | null;
}

/**
 * One exchange account (live, through ccxt) or one user's paper account.
 * Every failure is an ExchangeError with kind 'transient' (retry later) or 'permanent'.
 */
export interface ExchangeGateway {
  readonly kind: 'live' | 'paper';
  fetchBalance(): Promise<Balances>;
  loadMarkets(): Promise<Market[]>;
  /** Places the order and reads it back: the order as the exchange has it once placed (its fill, if any). */
  createOrder(request: CreateOrderRequest): Promise<Order>;
  /**
   * createOrder in two steps, for a caller that places many orders before reading any back (the
   * live batch: OrderBatchExecutor). placeOrder places only, and answers what the exchange's
   * placement answer tells (live: OKX's ids, the order `open`); readBack then reads that order's
   * fill, and answers the placed order as it was if the read fails (it exists: synced later).
   */
  placeOrder(request: CreateOrderRequest): Promise<Order>;
  readBack(placed: Order): Promise<Order>;
  /** null when the exchange does not know the order. */
  fetchOrder(ref: OrderRef): Promise<Order | null>;
  cancelOrder(ref: OrderRef): Promise<Order>;
  fetchDepositAddress(currency: string, network?: string): Promise<DepositAddress>;
  /** `since` in milliseconds since the epoch. */
  fetchDeposits(currency?: string, since?: number): Promise<Deposit[]>;
  fetchTicker(symbol: string): Promise<Ticker>;
}

export const CLIENT_ORDER_ID = /^[A-Za-z0-9]{1,32}$/;
