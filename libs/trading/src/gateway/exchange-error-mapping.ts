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
  // OKX's sub-account order-rate limit (ccxt: ExchangeError). Like 50011, a reason to wait, never to reject.
  '50061': ['transient', C.rateLimited],
  // The order reached OKX after its expTime header: OKX did not process it, so it is known not placed.
  '50036': ['permanent', C.orderExpired],
  '50037': ['permanent', C.orderExpired],
};

/** Our reason for codes whose exchange message is not one a trader can act on. */
const EXCHANGE_REASONS: Readonly<Record<string, string>> = {
  '50036': 'OKX received the order after its deadline (expTime, our request timeout) and did not place it: the network or OKX held it too long',
  '50037': 'OKX received the order after its deadline (expTime, our request timeout) and did not place it: the network or OKX held it too long',
};

/**
 * Failures with no answer from OKX to quote (the socket, a timeout, an HTML error page): ccxt's text
 * carries our URL and the socket error, which belong in the log, not in orders.reason.
 */
const REASONS_WITHOUT_ANSWER: Partial<Record<ExchangeErrorCode, string>> = {
  [C.network]: 'OKX could not be reached (network error); the order is looked up before any retry',
  [C.timeout]: 'OKX did not answer in time; the order is looked up before any retry',
  [C.unavailable]: 'OKX is temporarily unavailable (it answered with a server error)',
  [C.rateLimited]: 'OKX is limiting requests right now',
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

function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]');
}

/** Any error from a gateway call → ExchangeError. `secrets` are scrubbed from the reason. */
export function toExchangeError(error: unknown, secrets: readonly (string | null | undefined)[] = []): ExchangeError {
  return describeFailure(error, secrets).failure;
}

/**
 * The ExchangeError for a failure, and, when its reason had to replace what ccxt said (no exchange
 * answer to quote), that text scrubbed of `secrets` as `detail`, for the log.
 */
export function describeFailure(error: unknown, secrets: readonly (string | null | undefined)[] = []): { failure: ExchangeError; detail: string | null } {
  if (error instanceof ExchangeError) return { failure: error, detail: null };
  if (!(error instanceof Error)) {
    return { failure: ExchangeError.permanent(C.internal, redact(String(error), secrets)), detail: null };
  }
  const byClass = CCXT_ERRORS[error.name];
  if (byClass) {
    const parsed = parseExchangeMessage(error.message);
    const [kind, code] = (parsed.code !== null ? EXCHANGE_CODES[parsed.code] : undefined) ?? byClass;
    if (parsed.code !== null) {
      const reason = EXCHANGE_REASONS[parsed.code] ?? redact(parsed.message ?? `OKX refused the request (code ${parsed.code})`, secrets);
      return { failure: new ExchangeError(kind, code, reason, parsed.code), detail: null };
    }
    const replaced = REASONS_WITHOUT_ANSWER[code];
    if (replaced) return { failure: new ExchangeError(kind, code, replaced, null), detail: redact(error.message, secrets) };
    // ccxt's own refusals ("okx requires \"apiKey\" credential") read well, minus any URL.
    return { failure: new ExchangeError(kind, code, withoutUrls(redact(error.message, secrets)), null), detail: null };
  }
  const sysCode = (error as NodeJS.ErrnoException).code;
  if (sysCode && NODE_NETWORK_CODES.has(sysCode)) {
    return { failure: ExchangeError.transient(C.network, REASONS_WITHOUT_ANSWER[C.network]!), detail: redact(error.message, secrets) };
  }
  // Not the exchange and not the network: a bug of ours; retrying would not help.
  return { failure: ExchangeError.permanent(C.internal, redact(error.message, secrets)), detail: null };
}
