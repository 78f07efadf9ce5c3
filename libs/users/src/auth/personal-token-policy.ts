import { DomainError } from '@torgovo/core';
import type { TokenScope } from '../entities/personal-access-token.entity';

/** What a personal access token may call: reads, and with `trade` the trading resources. */
const TRADE_PREFIXES = ['/bots', '/orders', '/custom-bot', '/managed-bot'];
/** Never with a token: managing tokens, exchange keys, sessions and the back office need a login. */
const SESSION_ONLY_PREFIXES = ['/users/me/tokens', '/users/me/exchange', '/auth', '/admin'];
/**
 * Never with a token either: the routes that hand out a TradingView webhook secret. A secret is a
 * credential of its own (it places orders with no token at all), so one minted with a token would
 * outlive the token's revocation, like a token minting tokens. `*` is one path segment (the id, or
 * `:id` in the routed pattern the guard passes).
 */
const SESSION_ONLY_ROUTES = [
  ['POST', '/custom-bot/webhook/generate'],
  ['POST', '/custom-bot/webhooks/*/rotate'],
] as const;
const READ_METHODS = new Set(['GET', 'HEAD']);

const sessionRequired = () => new DomainError('session_required', 403, 'This needs a login session, not a personal access token');

function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((seg, i) => (seg === '*' ? got[i] !== '' : seg === got[i]));
}

/** Throws unless a token of `scope` may call `method path` (path under /api, query string ignored). */
export function assertTokenMayCall(method: string, url: string, scope: TokenScope): void {
  const path = (url.split('?')[0] ?? '').replace(/^\/api(?=\/)/, '');
  const verb = method.toUpperCase();
  const under = (prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  if (under(SESSION_ONLY_PREFIXES)) throw sessionRequired();
  if (SESSION_ONLY_ROUTES.some(([m, p]) => m === verb && matches(p, path.replace(/\/$/, '')))) throw sessionRequired();
  if (READ_METHODS.has(verb)) return;
  if (scope === 'read') throw new DomainError('token_scope', 403, 'This personal access token is read-only');
  if (!under(TRADE_PREFIXES)) throw sessionRequired();
}
