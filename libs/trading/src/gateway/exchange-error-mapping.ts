import { ExchangeError, ExchangeErrorCode, ExchangeErrorCodes as C, ExchangeErrorKind } from '../errors';

type Mapping = readonly [ExchangeErrorKind, ExchangeErrorCode];

/**
 * ccxt's error classes by their `name` (ccxt sets it on every class, so this needs no `instanceof`
 * and therefore no loaded ccxt). Everything under NetworkError/OperationFailed is worth a retry;
 * everything under ExchangeError is the exchange saying no.
 */
const CCXT_ERRORS: Readonly<Record<string, Mapping>> = {
  OperationFailed: ['transient', C.network],
  NetworkError: ['transient', C.network],
  DDoSProtection: ['transient', C.rateLimited],
  RateLimitExceeded: ['transient', C.rateLimited],
  ExchangeNotAvailable: ['transient', C.unavailable],
  OnMaintenance: ['transient', C.unavailable],
  InvalidNonce: ['transient', C.network],
  ChecksumError: ['transient', C.network],
  RequestTimeout: ['transient', C.timeout],
  BadResponse: ['transient', C.unavailable],
  NullResponse: ['transient', C.unavailable],
  CancelPending: ['transient', C.network],

  AuthenticationError: ['permanent', C.authentication],
  AccountSuspended: ['permanent', C.authentication],
  PermissionDenied: ['permanent', C.permissionDenied],
  AccountNotEnabled: ['permanent', C.permissionDenied],
  InsufficientFunds: ['permanent', C.insufficientFunds],
  InvalidOrder: ['permanent', C.invalidOrder],
  OrderNotFound: ['permanent', C.orderNotFound],
  OrderNotCached: ['permanent', C.invalidOrder],
  OrderImmediatelyFillable: ['permanent', C.invalidOrder],
  OrderNotFillable: ['permanent', C.invalidOrder],
  DuplicateOrderId: ['permanent', C.invalidOrder],
  ContractUnavailable: ['permanent', C.invalidOrder],
  MarketClosed: ['permanent', C.invalidOrder],
  BadSymbol: ['permanent', C.badSymbol],
  BadRequest: ['permanent', C.badRequest],
  ArgumentsRequired: ['permanent', C.badRequest],
  InvalidAddress: ['permanent', C.badRequest],
  AddressPending: ['permanent', C.badRequest],
  NotSupported: ['permanent', C.notSupported],
  OperationRejected: ['permanent', C.exchangeError],
  NoChange: ['permanent', C.exchangeError],
  MarginModeAlreadySet: ['permanent', C.exchangeError],
  ManualInteractionNeeded: ['permanent', C.exchangeError],
  RestrictedLocation: ['permanent', C.permissionDenied],
  InvalidProxySettings: ['permanent', C.exchangeError],
  ExchangeClosedByUser: ['permanent', C.exchangeError],
  ExchangeError: ['permanent', C.exchangeError],
  BaseError: ['permanent', C.exchangeError],
};

/**
 * Exchange codes that mean something other than their ccxt class says. OKX 51016 "Duplicated
 * clOrdId" (ccxt: InvalidOrder) means an order holding our client order id exists — most likely our
 * own earlier placement — so it is transient: the retry looks the order up instead of rejecting it.
 */
const EXCHANGE_CODES: Readonly<Record<string, Mapping>> = {
  '51016': ['transient', C.duplicateClientOrderId],
};

// Socket-level failures that escape ccxt's own wrapping (rare, but they are network trouble).
const NODE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

interface ExchangeMessage {
  code: string | null;
  message: string | null;
}

/**
 * ccxt puts the exchange's raw body in the message ("okx {\"code\":\"51008\",...}"); OKX reports
 * per-order failures in data[0].sCode/sMsg and request failures in code/msg.
 */
export function parseExchangeMessage(message: string): ExchangeMessage {
  const start = message.indexOf('{');
  if (start < 0) return { code: null, message: null };
  let body: unknown;
  try {
    body = JSON.parse(message.slice(start));
  } catch {
    return { code: null, message: null };
  }
  if (typeof body !== 'object' || body === null) return { code: null, message: null };
  const record = body as Record<string, unknown>;
  const first = Array.isArray(record.data) ? (record.data[0] as Record<string, unknown> | undefined) : undefined;
  const sCode = typeof first?.sCode === 'string' && first.sCode !== '0' ? first.sCode : null;
  const sMsg = typeof first?.sMsg === 'string' && first.sMsg !== '' ? first.sMsg : null;
  const code = sCode ?? (typeof record.code === 'string' ? record.code : null);
  const msg = sMsg ?? (typeof record.msg === 'string' && record.msg !== '' ? record.msg : null);
  return { code, message: msg };
}

function redact(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return out;
}

/** Any error from a gateway call → ExchangeError. `secrets` are scrubbed from the reason. */
export function toExchangeError(error: unknown, secrets: readonly (string | null | undefined)[] = []): ExchangeError {
  if (error instanceof ExchangeError) return error;
  if (!(error instanceof Error)) {
    return ExchangeError.permanent(C.internal, redact(String(error), secrets));
  }
  const byClass = CCXT_ERRORS[error.name];
  if (byClass) {
    const parsed = parseExchangeMessage(error.message);
    const reason = redact(parsed.message ?? error.message, secrets);
    const [kind, code] = (parsed.code !== null ? EXCHANGE_CODES[parsed.code] : undefined) ?? byClass;
    return new ExchangeError(kind, code, reason, parsed.code);
  }
  const sysCode = (error as NodeJS.ErrnoException).code;
  if (sysCode && NODE_NETWORK_CODES.has(sysCode)) {
    return ExchangeError.transient(C.network, redact(error.message, secrets));
  }
  // Not the exchange and not the network: a bug of ours; retrying would not help.
  return ExchangeError.permanent(C.internal, redact(error.message, secrets));
}
