import { createHmac, createSecretKey } from 'node:crypto';
import { invokeOkx, newOkxInstance, type ExchangeCredentials, type OkxCall, type OkxCallRunner, type OkxTarget } from '@torgovo/core';
import type { okx as OkxExchange } from 'ccxt';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';

export type OkxClient = OkxExchange;

/** One OKX API endpoint: the real one or another base URL, live or demo trading. */
export interface OkxEndpointOptions extends OkxTarget {
  /**
   * OKX_MAX_CONNECTIONS: the most HTTP connections one ccxt instance keeps open to OKX (calls beyond
   * wait inside its HTTP client, first come first served). Unset: ccxt's own cap, 256 per origin.
   */
  maxConnections?: number;
}

/**
 * A configured ccxt OKX instance holding no credentials: they are set per call by OkxClientPool.
 * Only OKX's raw endpoints are called through it (see LiveExchangeGateway), so it never loads
 * ccxt's markets nor caches anything about an account.
 */
export function createOkxClient(options: OkxEndpointOptions = {}): OkxClient {
  // Loaded on the first live call (a paper-only process never loads ccxt), ccxt's okx module alone.
  // ccxt's limiter is per instance, and an instance serves every account in turn: it would throttle
  // unrelated accounts together, so it is off (newOkxInstance). OKX's limits are per account: RateWindows keeps them.
  const client = newOkxInstance(options);
  const maxConnections = options.maxConnections;
  if (maxConnections !== undefined) {
    // ccxt builds its undici Agent from these options when it makes its first request.
    const ccxtOptions = client.getDispatcherOptions.bind(client) as (plain?: boolean) => Record<string, unknown>;
    client.getDispatcherOptions = (plain?: boolean) => ({ ...ccxtOptions(plain), connections: maxConnections });
  }
  return client;
}

export function assertOkx(credentials: ExchangeCredentials): void {
  if (credentials.exchange !== 'okx') {
    throw ExchangeError.permanent(C.unsupportedExchange, `exchange "${credentials.exchange}" is not supported`);
  }
}

type Waiter = (client: OkxClient) => void;

type HashFn = ((message: Uint8Array) => Uint8Array) & { outputLen?: number; blockLen?: number };
type CcxtHmac = (request: string | Uint8Array, secret: string | Uint8Array, hash: HashFn, digest?: string) => string | Uint8Array;

/** SHA-256("abc"), to recognise ccxt's (@noble/hashes) sha256 by what it computes, not by import. */
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const isSha256 = new WeakMap<HashFn, boolean>();

function sha256Like(hash: HashFn): boolean {
  let known = isSha256.get(hash);
  if (known === undefined) {
    try {
      known = hash.outputLen === 32 && hash.blockLen === 64 && Buffer.from(hash(new TextEncoder().encode('abc'))).toString('hex') === SHA256_ABC;
    } catch {
      known = false;
    }
    isSha256.set(hash, known);
  }
  return known;
}

/**
 * ccxt's hmac with Node's crypto for OKX's one case (HMAC-SHA256, base64: OK-ACCESS-SIGN): the same
 * bytes (RFC 2104 over the same UTF-8 input; standard padded base64 as @scure/base writes it), in
 * native code instead of @noble/hashes' JavaScript SHA-256 (~25 µs a signature in the profile of a
 * 10,000-order burst). Anything else goes to ccxt's own.
 */
function nativeHmac(original: CcxtHmac): CcxtHmac {
  return (request, secret, hash, digest = 'hex') => {
    if (digest !== 'base64' || !sha256Like(hash)) return original(request, secret, hash, digest);
    // ccxt hands the secret over as bytes. Node 24 checks a byte key by trying it as a KeyObject and
    // then as a CryptoKey (two thrown and caught exceptions, ~9 µs a signature, measured); a KeyObject
    // made from the same bytes skips both, and a string skips them too.
    return createHmac('sha256', typeof secret === 'string' ? secret : createSecretKey(secret)).update(request).digest('base64');
  };
}

/**
 * A few ccxt instances for one endpoint. A call borrows one only for the synchronous part of the
 * call — while ccxt signs it and builds its headers — and gives it back as soon as the request is on
 * its way; so one instance (with one keep-alive HTTP pool) serves every call in flight, whatever
 * the number of accounts. (Holding an instance for the whole call needed one per call in flight:
 * 128 instances of ~8 ms of CPU and ~0.3 MB each, made during the first burst.)
 *
 * Why this is safe: for a call like `c.privatePostTradeOrder(body)`, ccxt runs synchronously up to
 * the HTTP request — implicit method → request → fetch2 → sign() (reads apiKey, secret, password,
 * writes last_request_*) → fetch(), whose first statement merges `this.headers` (our expTime) into
 * the request's own — and nothing it does after the first await reads credentials or `this.headers`
 * (the answer is parsed and OKX's error codes mapped from the response alone; last_http_response and
 * last_response_headers are switched off, so an answer is not kept on the instance either). We set
 * the call's keys and headers, call, and clear them in one synchronous block, so no other call can
 * see them. If a future ccxt awaited before signing, the call would not go out with someone else's
 * keys or without its expTime: sign() and fetch() refuse to run outside a borrowing (they throw
 * before any request is made), which the unit tests check.
 */
export class OkxClientPool implements OkxCallRunner {
  private readonly idle: OkxClient[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly lent = new WeakSet<OkxClient>();
  private created = 0;

  constructor(
    private readonly options: OkxEndpointOptions,
    readonly size = 64,
  ) {}

  /**
   * Runs `fn` with an instance signing as `credentials` (null: a public call), with `headers` added —
   * made once the instance is ours, so a header like expTime counts from when the request can leave.
   * `fn` must start its one ccxt call synchronously (`(c) => c.privateGetTradeOrder(params)`): the
   * instance is taken back when `fn` returns its promise; what comes after that first await runs
   * without it.
   */
  async use<T>(credentials: ExchangeCredentials | null, fn: (client: OkxClient) => Promise<T>, headers?: () => Record<string, string>): Promise<T> {
    // Taken synchronously (an idle one, else a new one while under `size`): calls started together share one.
    const client = this.idle.pop() ?? this.make() ?? (await new Promise<OkxClient>((resolve) => this.waiters.push(resolve)));
    const baseHeaders = client.headers;
    let pending: Promise<T>;
    try {
      if (credentials) {
        client.apiKey = credentials.apiKey;
        client.secret = credentials.secret;
        client.password = credentials.passphrase ?? '';
      }
      if (headers) client.headers = { ...baseHeaders, ...headers() };
      this.lent.add(client);
      pending = fn(client);
    } finally {
      this.lent.delete(client);
      client.headers = baseHeaders;
      client.apiKey = '';
      client.secret = '';
      client.password = '';
      // ccxt keeps the last request's headers (key, passphrase, signature) and body.
      client.last_request_headers = undefined;
      client.last_request_body = undefined;
      client.last_request_url = undefined;
      this.release(client);
    }
    return await pending;
  }

  /** One OKX call as data (OkxCallRunner): the same as `use` with that method. */
  run(credentials: ExchangeCredentials | null, call: OkxCall, headers?: () => Record<string, string>): Promise<unknown> {
    return this.use(credentials, (c) => invokeOkx(c, call), headers);
  }

  /** Instances made so far (never more than `size`). */
  get instances(): number {
    return this.created;
  }

  /** A new instance, or undefined when `size` are made. */
  private make(): OkxClient | undefined {
    if (this.created >= this.size) return undefined;
    this.created += 1;
    // Nothing of an answer stays on the instance once the next call has it (newOkxInstance).
    const client = createOkxClient(this.options);
    const outside = (what: string) => new Error(`ccxt ${what} ran outside OkxClientPool.use's synchronous section: refused, nothing was sent`);
    const sign = client.sign.bind(client);
    client.sign = (...args: Parameters<OkxClient['sign']>) => {
      if (!this.lent.has(client)) throw outside('sign()');
      return sign(...args);
    };
    const fetch = client.fetch.bind(client);
    client.fetch = (...args: Parameters<OkxClient['fetch']>) => {
      if (!this.lent.has(client)) return Promise.reject(outside('fetch()'));
      return fetch(...args);
    };
    client.hmac = nativeHmac(client.hmac.bind(client) as CcxtHmac) as OkxClient['hmac'];
    return client;
  }

  private release(client: OkxClient): void {
    const next = this.waiters.shift();
    if (next) next(client);
    else this.idle.push(client);
  }
}
