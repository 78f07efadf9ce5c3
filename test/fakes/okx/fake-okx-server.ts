import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fail, FakeAccount, FakeAccountInput, FakeOkxExchange, OkxReply } from './fake-okx-exchange';
import type { FakeDeposit, Wire } from './okx-wire';

export type OkxFault = 'invalid_key' | 'invalid_sign' | 'bad_timestamp' | 'rate_limit' | 'server_error' | 'insufficient_funds';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Path with its query string, exactly as signed. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** When it arrived (epoch ms). */
  at: number;
}

interface ArmedFault {
  kind: OkxFault;
  remaining: number;
  /** Only requests to this path (e.g. "/api/v5/trade/order"); every path when unset. */
  path?: string;
  /** Only requests in this method (e.g. "GET": an order's read-back, not its placement); every method when unset. */
  method?: string;
  status?: number;
}

/**
 * A fault for one order placement (POST /api/v5/trade/order), chosen per request by `orderFault`:
 * `drop` — placed, then the connection is cut before any answer; `hang_after` — placed, answered
 * only after `hangMs` (the client has timed out by then); `hang_before` — nothing placed, the
 * connection is cut after `hangMs`.
 */
export type OrderFault = 'drop' | 'hang_after' | 'hang_before';

export interface FaultOptions {
  /** How many matching requests fail (default 1; Infinity until clearFaults). */
  times?: number;
  path?: string;
  method?: string;
  /** HTTP status for server_error (default 503). */
  status?: number;
}

const TIMESTAMP_WINDOW_MS = 30_000;

// OKX's answers to a bad request signature, from its error-code table.
const AUTH_ERRORS = {
  noKey: () => fail(401, '50103', 'Request header OK-ACCESS-KEY cannot be empty.'),
  noPassphrase: () => fail(401, '50104', 'Request header OK-ACCESS-PASSPHRASE cannot be empty.'),
  badPassphrase: () => fail(401, '50105', 'Request header OK-ACCESS-PASSPHRASE incorrect.'),
  badTimestamp: () => fail(401, '50102', 'Timestamp request expired.'),
  badKey: () => fail(401, '50111', 'Invalid OK-ACCESS-KEY.'),
  badIp: () => fail(401, '50110', 'Your IP 127.0.0.1 is not included in your API key\'s IP whitelist.'),
  badSign: () => fail(401, '50113', 'Invalid Sign.'),
  wrongEnv: () => fail(401, '50101', 'APIKey does not match current environment.'),
};

/**
 * A local OKX v5 REST server for tests: verifies request signatures against registered accounts,
 * keeps balances and orders, and can be told to fail. Start one per test file.
 */
export class FakeOkxServer {
  readonly exchange = new FakeOkxExchange();
  readonly requests: RecordedRequest[] = [];
  /** Milliseconds to wait before every answer. */
  latencyMs = 0;
  private holds: Array<{ method: string; path: string; open: Promise<void> }> = [];
  private readonly releases: Array<() => void> = [];
  /** TCP connections accepted since start. */
  connections = 0;
  /** Requests being handled now, and the most at once since start (or since the caller reset it). */
  inFlight = 0;
  maxInFlight = 0;
  private server?: Server;
  private faults: ArmedFault[] = [];
  /** true: drop the next successful placement's answer; a string: only that clOrdId's. */
  private dropNextOrder: boolean | string = false;
  /** ms: the next placement is answered 50004 at once and reaches the "matching engine" that much later. */
  private landNextLate: number | null = null;
  private readonly lateLandings = new Set<NodeJS.Timeout>();
  /** Asked once per order placement (bench/chaos); undefined = no fault. */
  orderFault?: () => OrderFault | undefined;
  /** How long `hang_after` / `hang_before` hold the request. */
  hangMs = 12_000;
  /**
   * OKX's order-placement limit per account and instrument (60 per 2 s); beyond it OKX answers HTTP
   * 429 with code 50011 and places nothing. null: no limit.
   */
  placementLimit: { limit: number; windowMs: number } | null = { limit: 60, windowMs: 2_000 };
  /** Placements answered 50011 so far. */
  rateLimited = 0;
  /** Added to the fake's clock when it checks an order's expTime header (> 0: every request arrives "late"). */
  clockOffsetMs = 0;
  private readonly placements = new Map<string, number[]>();

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('FakeOkxServer is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      res.once('close', () => (this.inFlight -= 1));
      void this.handle(req, res);
    });
    this.server.on('connection', () => (this.connections += 1));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.lateLandings) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  addAccount(input?: FakeAccountInput): FakeAccount {
    return this.exchange.addAccount(input);
  }

  addDeposit(account: FakeAccount, deposit: Partial<FakeDeposit> & Pick<FakeDeposit, 'ccy' | 'amt'>): FakeDeposit {
    return this.exchange.addDeposit(account, deposit);
  }

  inject(kind: OkxFault, options: FaultOptions = {}): void {
    this.faults.push({ kind, remaining: options.times ?? 1, path: options.path, method: options.method, status: options.status });
  }

  /**
   * Place the next order but cut the connection before answering. With `clOrdId`, only that order's
   * placement is dropped (other orders due in the same worker round are answered normally).
   */
  dropNextOrderResponse(clOrdId?: string): void {
    this.dropNextOrder = clOrdId ?? true;
  }

  /**
   * The next order placement is answered at once with OKX 50004 ("API endpoint request timeout: does
   * not indicate success or failure of order") and is placed `ms` later — unless its expTime has
   * passed by then, as OKX's matching engine does.
   */
  landNextOrderLate(ms: number): void {
    this.landNextLate = ms;
  }

  clearFaults(): void {
    for (const timer of this.lateLandings) clearTimeout(timer);
    this.lateLandings.clear();
    this.landNextLate = null;
    for (const release of this.releases.splice(0)) release();
    this.faults = [];
    this.dropNextOrder = false;
    this.latencyMs = 0;
    this.clockOffsetMs = 0;
  }

  /**
   * Holds every request to `METHOD path` (e.g. GET /api/v5/trade/order: the read-backs) before it is
   * handled, until `release()`: a test can act while they wait. clearFaults releases it too.
   */
  hold(method: string, path: string): { release: () => void } {
    let release!: () => void;
    const gate = { method, path, open: new Promise<void>((r) => (release = r)) };
    this.holds.push(gate);
    const done = () => {
      this.holds = this.holds.filter((h) => h !== gate);
      release();
    };
    this.releases.push(done);
    return { release: done };
  }

  /** How many requests reached `METHOD path` (path without query). */
  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.path === path).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = req.url ?? '/';
    const parsed = new URL(url, 'http://fake');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: parsed.pathname, url, headers: req.headers, body, at: Date.now() });
    for (const h of this.holds.filter((x) => x.method === method && x.path === parsed.pathname)) await h.open;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    const orderFault = method === 'POST' && parsed.pathname === '/api/v5/trade/order' ? this.orderFault?.() : undefined;
    if (orderFault === 'hang_before') {
      await new Promise((r) => setTimeout(r, this.hangMs));
      req.socket.destroy();
      return;
    }
    if (method === 'POST' && parsed.pathname === '/api/v5/trade/order' && this.landNextLate !== null) {
      const ms = this.landNextLate;
      this.landNextLate = null;
      const timer = setTimeout(() => {
        this.lateLandings.delete(timer);
        this.route(method, parsed.pathname, parsed.searchParams, req, url, body);
      }, ms);
      this.lateLandings.add(timer);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: '50004', data: [], msg: 'API endpoint request timeout (does not indicate success or failure of order, please check order status)' }));
      return;
    }
    let reply: OkxReply | 'drop' | undefined = this.takeFault(method, parsed.pathname);
    if (!reply) {
      try {
        reply = this.route(method, parsed.pathname, parsed.searchParams, req, url, body);
      } catch (error) {
        reply = { status: 500, body: { code: '50026', data: [], msg: `fake OKX error: ${(error as Error).message}` } };
      }
    }
    if (reply === 'drop' || (orderFault === 'drop' && reply.body.code === '0')) {
      req.socket.destroy();
      return;
    }
    if (orderFault === 'hang_after') await new Promise((r) => setTimeout(r, this.hangMs));
    if (reply.html) {
      // What a load balancer in front of OKX answers: HTML, not OKX JSON.
      res.writeHead(reply.status, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>${reply.status} Service Temporarily Unavailable</h1></body></html>`);
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  private takeFault(method: string, path: string): OkxReply | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.path || f.path === path) && (!f.method || f.method === method));
    if (!fault) return undefined;
    fault.remaining -= 1;
    switch (fault.kind) {
      case 'invalid_key':
        return AUTH_ERRORS.badKey();
      case 'invalid_sign':
        return AUTH_ERRORS.badSign();
      case 'bad_timestamp':
        return AUTH_ERRORS.badTimestamp();
      case 'rate_limit':
        return fail(429, '50011', 'Too Many Requests');
      case 'server_error':
        return { status: fault.status ?? 503, body: {}, html: true };
      case 'insufficient_funds':
        // Handled where orders are placed, so that only order placement fails.
        fault.remaining += 1;
        return undefined;
    }
  }

  private route(method: string, path: string, q: URLSearchParams, req: IncomingMessage, url: string, body: string): OkxReply | 'drop' {
    const x = this.exchange;
    if (method === 'GET' && path === '/api/v5/public/instruments') return x.instrumentsReply(q);
    if (method === 'GET' && path === '/api/v5/market/ticker') return x.tickerReply(q);

    const auth = this.authenticate(req, method, url, body);
    if ('status' in auth) return auth;
    const account = auth.account;
    const json = (): Wire => (body ? (JSON.parse(body) as Wire) : {});

    if (method === 'GET' && path === '/api/v5/account/balance') return x.balanceReply(account, q);
    if (method === 'GET' && path === '/api/v5/account/config') return x.accountConfigReply(account);
    if (method === 'POST' && path === '/api/v5/trade/order') {
      const refused = this.admitPlacement(account, req, json());
      if (refused) return refused;
      const order = json();
      const reply = x.placeOrder(account, order, this.consumeInsufficientFunds(path));
      const dropThis = this.dropNextOrder === true || (typeof this.dropNextOrder === 'string' && order.clOrdId === this.dropNextOrder);
      if (dropThis && reply.body.code === '0') {
        this.dropNextOrder = false;
        return 'drop';
      }
      return reply;
    }
    if (method === 'GET' && path === '/api/v5/trade/order') return x.orderReply(account, q);
    if (method === 'POST' && path === '/api/v5/trade/cancel-order') return x.cancelOrder(account, json());
    if (method === 'GET' && path === '/api/v5/asset/deposit-address') return x.depositAddressReply(account, q);
    if (method === 'GET' && path === '/api/v5/asset/deposit-history') return x.depositHistoryReply(account, q);
    return fail(404, '404', `fake OKX does not serve ${method} ${path}`);
  }

  /**
   * What OKX checks before an order reaches the matching engine: the request's expTime (an order
   * arriving after it is not processed), then the per account and instrument placement limit.
   */
  private admitPlacement(account: FakeAccount, req: IncomingMessage, body: Wire): OkxReply | undefined {
    const expTime = req.headers.exptime;
    if (typeof expTime === 'string' && expTime !== '' && Date.now() + this.clockOffsetMs > Number(expTime)) {
      return fail(200, '50036', "The expTime can't be earlier than the current system time. Please adjust the expTime and try again.");
    }
    if (!this.placementLimit) return undefined;
    const { limit, windowMs } = this.placementLimit;
    const key = `${account.apiKey}\u0000${String(body.instId)}`;
    const now = Date.now();
    const recent = (this.placements.get(key) ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= limit) {
      this.placements.set(key, recent);
      this.rateLimited += 1;
      return fail(429, '50011', 'Rate limit reached. Please refer to API documentation and throttle requests accordingly.');
    }
    recent.push(now);
    this.placements.set(key, recent);
    return undefined;
  }

  private consumeInsufficientFunds(path: string): boolean {
    const fault = this.faults.find((f) => f.kind === 'insufficient_funds' && f.remaining > 0 && (!f.path || f.path === path));
    if (fault) fault.remaining -= 1;
    return fault !== undefined;
  }

  /** OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)). */
  private authenticate(req: IncomingMessage, method: string, url: string, body: string): { account: FakeAccount } | OkxReply {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const key = header('ok-access-key');
    const sign = header('ok-access-sign');
    const timestamp = header('ok-access-timestamp');
    const passphrase = header('ok-access-passphrase');
    if (!key) return AUTH_ERRORS.noKey();
    const account = this.exchange.accounts.get(key);
    if (!account) return AUTH_ERRORS.badKey();
    if (!passphrase) return AUTH_ERRORS.noPassphrase();
    const ts = timestamp ? Date.parse(timestamp) : NaN;
    if (!timestamp || Number.isNaN(ts) || Math.abs(Date.now() - ts) > TIMESTAMP_WINDOW_MS) return AUTH_ERRORS.badTimestamp();
    const expected = createHmac('sha256', account.secret).update(`${timestamp}${method}${url}${body}`).digest();
    const given = Buffer.from(sign ?? '', 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return AUTH_ERRORS.badSign();
    if (passphrase !== account.passphrase) return AUTH_ERRORS.badPassphrase();
    // A key bound to IP addresses answers only requests from them.
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (account.ip !== '' && !account.ip.split(',').map((s) => s.trim()).includes(from)) return AUTH_ERRORS.badIp();
    // Demo keys work only on simulated trading, live keys only without it.
    if ((header('x-simulated-trading') === '1') !== account.demo) return AUTH_ERRORS.wrongEnv();
    return { account };
  }
}
