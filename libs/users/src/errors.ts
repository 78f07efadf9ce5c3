import { DomainError } from '@torgovo/core';

export const UserErrors = {
  emailTaken: () => new DomainError('email_taken', 409, 'An account with this email already exists'),
  invalidCredentials: () => new DomainError('invalid_credentials', 401, 'Invalid email or password'),
  invalidRefreshToken: () => new DomainError('invalid_refresh_token', 401, 'Refresh token is invalid, expired or already used'),
  userNotFound: () => new DomainError('not_found', 404, 'User not found'),
  /** The account was deactivated or erased while the request was under way (the guard let it in before). */
  accountInactive: () => new DomainError('unauthorized', 401, 'The account is deactivated'),
  /** The login's session ended (logout, refresh-token reuse) while the request was under way. */
  sessionEnded: () => new DomainError('unauthorized', 401, 'The session has ended; log in again'),
  unsupportedExchange: (exchange: string) => new DomainError('unsupported_exchange', 400, `Exchange '${exchange}' is not supported`),
  passphraseRequired: () => new DomainError('validation_failed', 400, 'OKX needs the API passphrase', [{ field: 'passphrase', message: 'passphrase is required for okx' }]),
  /** `reason` is already in a trader's words (the tester builds it from the exchange's error code). */
  exchangeRejected: (reason: string) => new DomainError('exchange_connection_failed', 400, reason),
  keyCanWithdraw: () =>
    new DomainError(
      'key_can_withdraw',
      400,
      'This API key can withdraw funds, and Torgovo only accepts trade-only keys: then no one can move money out of your account through us. ' +
        'On OKX, open Profile → API keys, create a new V5 API key with the permissions Read and Trade only (leave Withdraw unticked), ' +
        'and connect that key. You can delete the key with withdraw rights afterwards.',
    ),
  cannotRemoveSelf: () => new DomainError('cannot_change_self', 409, 'An admin cannot deactivate, demote or erase their own account'),
  /** The acting admin was demoted or deactivated while the request was under way (the guard let it in before). */
  actorNotAdmin: () => new DomainError('forbidden', 403, 'This action needs an admin: your admin rights were removed while the request was under way'),
  lastAdmin: () => new DomainError('last_admin', 409, 'This is the last active admin: make another admin first'),
  userErased: () => new DomainError('user_erased', 409, 'This account was erased and cannot be changed'),
  notConnected: () => new DomainError('exchange_not_connected', 400, 'No exchange account is connected'),
} as const;
