export type ExchangeErrorKind = 'transient' | 'permanent';

/** Our stable codes; `exchangeCode` keeps the exchange's own (OKX "51008"). */
export const ExchangeErrorCodes = {
  network: 'network_error',
  timeout: 'timeout',
  rateLimited: 'rate_limited',
  unavailable: 'exchange_unavailable',
  authentication: 'authentication_failed',
  permissionDenied: 'permission_denied',
  insufficientFunds: 'insufficient_funds',
  invalidOrder: 'invalid_order',
  orderNotFound: 'order_not_found',
  duplicateClientOrderId: 'duplicate_client_order_id',
  orderNotOpen: 'order_not_open',
  /** The exchange refused the order for arriving after its deadline (OKX expTime): not placed. */
  orderExpired: 'order_expired',
  badSymbol: 'bad_symbol',
  badRequest: 'bad_request',
  invalidAmount: 'invalid_amount',
  belowMinNotional: 'below_min_notional',
  noPrice: 'no_price',
  notSupported: 'not_supported',
  unsupportedExchange: 'unsupported_exchange',
  exchangeError: 'exchange_error',
  internal: 'internal_error',
} as const;

export type ExchangeErrorCode = (typeof ExchangeErrorCodes)[keyof typeof ExchangeErrorCodes];

/**
 * A failure talking to an exchange (or the paper exchange). Transient ones may be retried after
 * the order is reconciled; permanent ones end the order with `reason` (the exchange's message).
 */
export class ExchangeError extends Error {
  constructor(
    readonly kind: ExchangeErrorKind,
    readonly code: ExchangeErrorCode,
    readonly reason: string,
    readonly exchangeCode: string | null = null,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'ExchangeError';
  }

  get transient(): boolean {
    return this.kind === 'transient';
  }

  static permanent(code: ExchangeErrorCode, reason: string, exchangeCode: string | null = null): ExchangeError {
    return new ExchangeError('permanent', code, reason, exchangeCode);
  }

  static transient(code: ExchangeErrorCode, reason: string, exchangeCode: string | null = null): ExchangeError {
    return new ExchangeError('transient', code, reason, exchangeCode);
  }
}

export function isExchangeError(value: unknown): value is ExchangeError {
  return value instanceof ExchangeError;
}
