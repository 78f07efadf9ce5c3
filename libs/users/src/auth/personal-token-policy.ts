import { DomainError } from '@torgovo/core';
import type { TokenScope } from '../entities/personal-access-token.entity';

/** What a personal access token may call: reads, and with `trade` the trading resources. */
const TRADE_PREFIXES = ['/bots', '/orders', '/custom-bot', '/managed-bot'];
/** Never with a token: managing tokens, exchange keys, sessions and the back office need a login. */
const SESSION_ONLY_PREFIXES = ['/users/me/tokens', '/users/me/exchange', '/auth', '/admin'];
const READ_METHODS = new Set(['GET', 'HEAD']);

const sessionRequired = () => new DomainError('session_required', 403, 'This needs a login session, not a personal access token');

/** Throws unless a token of `scope` may call `method path` (path under /api, query string ignored). */
export function assertTokenMayCall(method: string, url: string, scope: TokenScope): void {
  const path = (url.split('?')[0] ?? '').replace(/^\/api(?=\/)/, '');
  const under = (prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  if (under(SESSION_ONLY_PREFIXES)) throw sessionRequired();
  if (READ_METHODS.has(method.toUpperCase())) return;
  if (scope === 'read') throw new DomainError('token_scope', 403, 'This personal access token is read-only');
  if (!under(TRADE_PREFIXES)) throw sessionRequired();
}
