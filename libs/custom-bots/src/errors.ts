import { DomainError, ErrorDetail } from '@torgovo/core';

export const BotErrors = {
  notFound: () => new DomainError('not_found', 404, 'Bot not found'),
  /** The account was deactivated while the request was under way (the guard let it in before). */
  accountInactive: () => new DomainError('unauthorized', 401, 'The account is deactivated'),
  exchangeNotConnected: () =>
    new DomainError('exchange_not_connected', 400, 'Connect an exchange account before creating or starting a live bot'),
  unknownSymbol: (symbol: string, exchange: string) =>
    new DomainError('unknown_symbol', 400, `${symbol} is not a spot market on ${exchange}`, [{ field: 'symbol', message: 'unknown market' }]),
  invalidSizing: (message: string) =>
    new DomainError('validation_failed', 400, 'Invalid sizing', [{ field: 'sizing.value', message }]),
  marketsUnavailable: (exchange: string) =>
    new DomainError('markets_unavailable', 503, `The market list of ${exchange} cannot be loaded right now; retry shortly`),
  running: () => new DomainError('bot_running', 409, 'Stop the bot before changing its symbol or mode'),
  notFlat: (what: string) =>
    new DomainError('bot_has_position', 409, `The bot still has ${what}: close its position (POST /bots/{id}/close) and let its orders finish before changing its symbol or mode`),
  noPosition: () => new DomainError('no_position', 422, 'The bot holds no position to close'),
} as const;

export const WebhookErrors = {
  notFound: () => new DomainError('not_found', 404, 'Webhook not found'),
  alreadyExists: () =>
    new DomainError('webhook_exists', 409, 'This bot already has an active webhook; rotate it to get a new secret'),
  botDeleted: () => new DomainError('not_found', 404, 'Bot not found'),
} as const;

export type RateLimitScope = 'ip' | 'user' | 'webhook';

const RATE_LIMIT_MESSAGES: Record<RateLimitScope, string> = {
  ip: 'Too many alerts from this address',
  user: 'Too many alerts for this account',
  webhook: 'Too many alerts for this webhook',
};

/** A 429 that says when to try again: the receive controller sends it as Retry-After. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly scope: RateLimitScope,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', 429, RATE_LIMIT_MESSAGES[scope]);
  }
}

/** Everything the receive endpoint answers with other than 202/200; each one is logged as the event's reason. */
export const SignalErrors = {
  unknownWebhook: () => new DomainError('not_found', 404, 'Unknown or inactive webhook'),
  ipNotAllowed: () => new DomainError('ip_not_allowed', 403, 'This source address may not send alerts'),
  rateLimited: (scope: RateLimitScope, retryAfterSeconds: number) => new RateLimitedError(scope, retryAfterSeconds),
  malformedJson: () => new DomainError('malformed_json', 400, 'The alert body is not valid JSON'),
  invalidSignal: (details: ErrorDetail[]) => new DomainError('invalid_signal', 400, 'The alert message is invalid', details),
  secretMismatch: () => new DomainError('secret_mismatch', 401, 'The secret in the alert body does not match this webhook'),
  stale: (lagSeconds: number, maxLag: number) =>
    new DomainError('stale_signal', 422, `The alert is ${lagSeconds} s old; this webhook accepts alerts up to ${maxLag} s old`),
  botStopped: (reason: string | null) =>
    new DomainError('bot_stopped', 403, reason ? `The bot is stopped (${reason})` : 'The bot is stopped'),
  userInactive: () => new DomainError('user_inactive', 403, 'The account is deactivated'),
  unknownSymbol: (ticker: string) =>
    new DomainError('unknown_symbol', 400, `${ticker} is not a market on this bot's exchange`, [{ field: 'ticker', message: 'unknown market' }]),
  symbolMismatch: (symbol: string, botSymbol: string) =>
    new DomainError('symbol_mismatch', 400, `The alert is for ${symbol} but the bot trades ${botSymbol}`, [
      { field: 'ticker', message: `must be ${botSymbol}` },
    ]),
  priceRequired: () =>
    new DomainError('invalid_signal', 400, 'A limit order needs a price', [{ field: 'price', message: 'required for limit orders' }]),
  tooSmall: () => new DomainError('invalid_signal', 400, 'The resulting order amount rounds to zero', [{ field: 'quantity', message: 'too small' }]),
  marketsUnavailable: () => new DomainError('markets_unavailable', 503, 'The exchange market list cannot be loaded right now'),
} as const;
