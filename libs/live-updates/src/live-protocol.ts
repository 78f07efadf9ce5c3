/** The live-updates socket's wire protocol (API.md "Live updates"). */
export const WS_PATH = '/api/ws';

/** Close codes (4000–4999 are the application's). */
export const CLOSE = {
  unauthorized: { code: 4001, reason: 'unauthorized' },
  revoked: { code: 4003, reason: 'revoked' },
  expired: { code: 4004, reason: 'token_expired' },
  shutdown: { code: 1001, reason: 'server_shutdown' },
} as const;

/** The event name every frame that is not a known message maps to (answered with an error). */
export const INVALID_MESSAGE = '__invalid';
const KNOWN = new Set(['auth', 'resume', 'ping']);

/**
 * Frames are `{"type": ..., ...}` (not Nest's `{event, data}`): the type picks the handler and the
 * whole object is its body. Anything else (not JSON, not an object, unknown type) becomes INVALID_MESSAGE.
 */
export function parseLiveMessage(raw: unknown): { event: string; data: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
  } catch {
    return { event: INVALID_MESSAGE, data: {} };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { event: INVALID_MESSAGE, data: {} };
  const type = (value as Record<string, unknown>).type;
  return typeof type === 'string' && KNOWN.has(type) ? { event: type, data: value as Record<string, unknown> } : { event: INVALID_MESSAGE, data: {} };
}

/** The token offered in Sec-WebSocket-Protocol (`bearer, <token>` or just `<token>`), if any. */
export function offeredToken(header: string | string[] | undefined): string | null {
  if (!header) return null;
  const offered = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0 && p !== 'bearer');
  return offered[0] ?? null;
}
