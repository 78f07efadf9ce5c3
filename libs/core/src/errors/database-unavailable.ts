/**
 * The database connection was lost under a request: terminated by an administrator or a failover
 * (57P01–57P03), a connection exception (SQLSTATE class 08), or node-postgres losing the socket
 * (its message, or the socket's own ECONNRESET / EPIPE).
 * Not a bug in the request: answered 503 `database_unavailable` with Retry-After, so senders that
 * retry (Stripe, the frontend, a TradingView relay) do, instead of a 500 that reads as a defect.
 */
const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03']);
const CONNECTION_MESSAGES = /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Connection is not established|terminating connection due to administrator command|Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore\.)$/;
/**
 * A raw socket error: node-postgres passes the socket's own error up when PostgreSQL's connection
 * is cut mid-read (seen in the chaos run: `read ECONNRESET` from a prepared statement, answered 500).
 * Every other client under a request wraps its socket errors (ccxt's NetworkError, Stripe's
 * StripeConnectionError, the OKX call process's wire errors), so a raw one here is the database's.
 */
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);
/** TypeORM releases a transaction's runner when its connection dies; the transaction's next statement throws this. */
const RELEASED_RUNNER = 'QueryRunnerAlreadyReleasedError';

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; name?: unknown; driverError?: unknown } | undefined, depth = 0; e && depth < 3; depth += 1) {
    if (e.name === RELEASED_RUNNER) return true;
    if (typeof e.code === 'string' && (e.code.startsWith('08') || CONNECTION_CODES.has(e.code) || SOCKET_CODES.has(e.code))) return true;
    if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
    e = e.driverError as typeof e;
  }
  return false;
}
