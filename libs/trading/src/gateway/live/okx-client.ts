import type { ExchangeCredentials } from '@torgovo/core';
import type { okx as OkxExchange } from 'ccxt';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { loadCcxt } from './ccxt-loader';

export type OkxClient = OkxExchange;

/** One OKX API endpoint: the real one or another base URL, live or demo trading. */
export interface OkxEndpointOptions {
  /** OKX_API_URL: another base URL (the local fake in tests). */
  apiUrl?: string;
  /** Demo trading: `x-simulated-trading: 1` on every request. */
  sandbox?: boolean;
  timeoutMs?: number;
}

/**
 * A configured ccxt OKX instance holding no credentials: they are set per call by OkxClientPool.
 * Only OKX's raw endpoints are called through it (see LiveExchangeGateway), so it never loads
 * ccxt's markets nor caches anything about an account.
 */
export function createOkxClient(options: OkxEndpointOptions = {}): OkxClient {
  const ccxt = loadCcxt();
  const client = new ccxt.okx({
    // ccxt's limiter is per instance, and an instance now serves every account in turn: it would
    // throttle unrelated accounts together. OKX's limits are per account: RateWindows keeps them.
    enableRateLimit: false,
    timeout: options.timeoutMs ?? 10_000,
    options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
  });
  client.has.fetchCurrencies = false;
  // Before the URL override: sandbox mode swaps urls.api and adds `x-simulated-trading: 1`.
  if (options.sandbox) client.setSandboxMode(true);
  if (options.apiUrl) client.urls.api = { rest: options.apiUrl.replace(/\/+$/, '') };
  return client;
}

export function assertOkx(credentials: ExchangeCredentials): void {
  if (credentials.exchange !== 'okx') {
    throw ExchangeError.permanent(C.unsupportedExchange, `exchange "${credentials.exchange}" is not supported`);
  }
}

type Waiter = (client: OkxClient) => void;

/**
 * A few ccxt instances for one endpoint, each lent to one call at a time with that call's
 * credentials. One instance per user cost ~280 KB of API method closures plus its own HTTP pool and
 * market table: 2,000 users' first orders took a worker to 535 MB. Here memory is bounded by `size`,
 * whatever the number of accounts.
 *
 * Why swapping credentials is safe: for a private call, ccxt's okx.sign() reads apiKey, secret and
 * password (checkRequiredCredentials reads the same) synchronously, then fetch() merges
 * `this.headers`; the raw endpoints we call keep nothing per account on the instance (no markets, no
 * accounts cache; enableRateLimit is off). The instance is held for the whole call, so no other
 * call can change its credentials or headers meanwhile, and they are cleared when it is returned:
 * an idle instance holds no one's secret.
 */
export class OkxClientPool {
  private readonly idle: OkxClient[] = [];
  private readonly waiters: Waiter[] = [];
  private created = 0;

  constructor(
    private readonly options: OkxEndpointOptions,
    readonly size = 64,
  ) {}

  /**
   * Runs `fn` with an instance signing as `credentials` (null: a public call), with `headers` added —
   * made once the instance is ours, so a header like expTime counts from when the request can leave.
   */
  async use<T>(credentials: ExchangeCredentials | null, fn: (client: OkxClient) => Promise<T>, headers?: () => Record<string, string>): Promise<T> {
    const client = await this.acquire();
    const baseHeaders = client.headers;
    try {
      if (credentials) {
        client.apiKey = credentials.apiKey;
        client.secret = credentials.secret;
        client.password = credentials.passphrase ?? '';
      }
      if (headers) client.headers = { ...baseHeaders, ...headers() };
      return await fn(client);
    } finally {
      client.headers = baseHeaders;
      client.apiKey = '';
      client.secret = '';
      client.password = '';
      // ccxt keeps the last request's headers (key, passphrase, signature) and the last answer.
      client.last_request_headers = undefined;
      client.last_request_body = undefined;
      client.last_http_response = undefined;
      client.last_response_headers = undefined;
      this.release(client);
    }
  }

  /** Instances made so far (never more than `size`). */
  get instances(): number {
    return this.created;
  }

  private acquire(): Promise<OkxClient> {
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.created < this.size) {
      this.created += 1;
      return Promise.resolve(createOkxClient(this.options));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(client: OkxClient): void {
    const next = this.waiters.shift();
    if (next) next(client);
    else this.idle.push(client);
  }
}
