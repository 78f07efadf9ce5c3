import { DomainError } from '@torgovo/core';

/** A 429 of the managed-bot webhook that says when to try again: the controller sends it as Retry-After. */
export class ManagedRateLimitedError extends DomainError {
  constructor(
    scope: 'ip' | 'bot',
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', 429, scope === 'ip' ? 'Too many alerts from this address' : 'Too many alerts for this managed bot');
  }
}

export const ManagedBotErrors = {
  notFound: () => new DomainError('not_found', 404, 'Managed bot not found'),
  followNotFound: () => new DomainError('not_found', 404, 'You do not follow this managed bot'),
  noSubscription: () => new DomainError('no_active_subscription', 403, 'Following a managed bot needs an active managed_bot subscription'),
  exchangeNotConnected: () => new DomainError('exchange_not_connected', 400, 'Connect an exchange account to follow live, or follow on paper'),
  wrongExchange: (needed: string, connected: string) =>
    new DomainError('exchange_not_connected', 400, `This managed bot trades on ${needed}; your connected exchange is ${connected}`),
  accountInactive: () => new DomainError('unauthorized', 401, 'The account is deactivated'),
  alreadyFollowing: () => new DomainError('already_following', 409, 'You already follow this managed bot'),
  bookUnsettled: () =>
    new DomainError('orders_in_progress', 409, "Your last follow of this managed bot still has orders under way (its positions being closed): follow it again once they are done"),
  paused: () => new DomainError('managed_bot_paused', 409, 'This managed bot is paused and takes no new followers'),
  pausedSignal: () => new DomainError('managed_bot_paused', 409, 'This managed bot is paused: it takes no signals'),
  investmentOutOfRange: (message: string) =>
    new DomainError('investment_out_of_range', 400, message, [{ field: 'investment', message }]),
  insufficientBalance: (currency: string, free: string) =>
    new DomainError('insufficient_balance', 400, `The investment is more than your free ${currency} balance (${free})`, [
      { field: 'investment', message: `at most ${free} ${currency}` },
    ]),
  balanceUnavailable: (reason: string) => new DomainError('exchange_unavailable', 503, `Your exchange balance cannot be read right now: ${reason}`),
  withdrawalTooLarge: (max: string) =>
    new DomainError('investment_out_of_range', 400, `A withdrawal can take at most ${max}`, [{ field: 'amount', message: `at most ${max}` }]),
  zeroAmount: () => new DomainError('validation_failed', 400, 'amount must not be zero', [{ field: 'amount', message: 'must not be zero' }]),
  symbolNotTraded: (symbol: string) =>
    new DomainError('unknown_symbol', 400, `${symbol} is not one of this managed bot's symbols`, [{ field: 'symbol', message: 'not traded by this bot' }]),
  priceRequired: () =>
    new DomainError('price_required', 400, 'This managed bot has paper followers: the signal needs a price', [{ field: 'price', message: 'required for paper followers' }]),
  webhookNotFound: () => new DomainError('not_found', 404, 'Webhook not found'),
  rateLimited: (scope: 'ip' | 'bot', retryAfterSeconds: number) => new ManagedRateLimitedError(scope, retryAfterSeconds),
  badAlert: (message: string) => new DomainError('validation_failed', 400, message),
} as const;
