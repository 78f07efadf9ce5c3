import type { ExchangeCredentials, OkxCall, OkxCallRunner } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import type { Market, Ticker } from '../exchange-gateway';
import { OkxClientPool, OkxEndpointOptions } from './okx-client';
import { okxData, parseOkxMarket, parseOkxTicker } from './okx-parsers';
import { okxPublicGet } from './okx-public';
import { RateWindow, RateWindows } from './okx-rate-limits';

// Markets change rarely (listings, step changes); an hour keeps the rules fresh enough.
const MARKETS_TTL_MS = 60 * 60 * 1000;
/**
 * A ticker is public and the same for every account: a burst of 10,000 followers needs one read of
 * it, not 10,000 (OKX allows 20 ticker requests per 2 s per IP, so it would refuse them anyway).
 * One second old at most: the slippage check compares against a price no older than that.
 */
export const TICKER_TTL_MS = 1_000;
/**
 * A call waits at most this long for its rate-limit slot (OKX's windows are 2 s, plus a second for
 * answers still in flight); beyond, it fails as rate_limited and the executor backs off.
 */
const MAX_RATE_WAIT_MS = 3_000;

export type MarketTable = ReadonlyMap<string, Market>;

interface Timed<T> {
  at: number;
  load: Promise<T>;
}

/** Makes the runner of an endpoint's signed calls: ccxt in this process (OkxClientPool) or the OKX call process (OkxSidecar). */
export type OkxRunnerFactory = (options: OkxEndpointOptions) => OkxCallRunner;

export const inProcessRunners =
  (poolSize?: number): OkxRunnerFactory =>
  (options) =>
    new OkxClientPool(options, poolSize);

/**
 * Everything a live gateway shares with every other account on the same OKX endpoint: the runner of
 * its signed calls, one read-only market table, recent tickers, and the per-account rate windows.
 * One per endpoint per ExchangeGatewayFactory (OkxEndpoints).
 */
export class OkxEndpoint {
  readonly runner: OkxCallRunner;
  readonly limits = new RateWindows();
  private marketsEntry?: Timed<MarketTable>;
  private readonly tickers = new Map<string, Timed<Ticker>>();

  constructor(
    readonly options: OkxEndpointOptions = {},
    runners: OkxRunnerFactory = inProcessRunners(),
  ) {
    this.runner = runners(options);
  }

  /**
   * Private call: waits for the account's rate windows (kept here, in the process that decides to
   * call, wherever the call then runs), then signs with `credentials`.
   */
  async signed(credentials: ExchangeCredentials, windows: readonly RateWindow[], call: OkxCall, headers?: () => Record<string, string>): Promise<unknown> {
    const deadline = Date.now() + MAX_RATE_WAIT_MS;
    let ticket = this.limits.take(windows);
    while (typeof ticket === 'number') {
      const wait = ticket;
      if (Date.now() + wait > deadline) {
        const w = windows[0];
        throw ExchangeError.transient(C.rateLimited, `OKX allows ${w.limit} such requests per ${w.windowMs / 1000} s on one account: sent again shortly`);
      }
      await new Promise((r) => setTimeout(r, wait));
      ticket = this.limits.take(windows);
    }
    try {
      return await this.runner.run(credentials, call, headers);
    } finally {
      ticket.done();
    }
  }

  /** The spot markets by unified symbol: one load per endpoint serves every account. */
  markets(): Promise<MarketTable> {
    const entry = this.marketsEntry;
    if (entry && Date.now() - entry.at <= MARKETS_TTL_MS) return entry.load;
    const fresh: Timed<MarketTable> = {
      at: Date.now(),
      load: okxPublicGet(this.options, '/api/v5/public/instruments', { instType: 'SPOT' }).then((answer) => {
        const rows = okxData(answer);
        return new Map(rows.map(parseOkxMarket).map((m) => [m.symbol, m]));
      }),
    };
    // A failed load is dropped, so one network blip does not poison the table for an hour.
    fresh.load.catch(() => {
      if (this.marketsEntry === fresh) this.marketsEntry = undefined;
    });
    this.marketsEntry = fresh;
    return fresh.load;
  }

  /** The market's ticker, shared by every caller within TICKER_TTL_MS (a failed read is not kept). */
  ticker(market: Market): Promise<Ticker> {
    const hit = this.tickers.get(market.id);
    if (hit && Date.now() - hit.at <= TICKER_TTL_MS) return hit.load;
    const fresh: Timed<Ticker> = {
      at: Date.now(),
      load: okxPublicGet(this.options, '/api/v5/market/ticker', { instId: market.id }).then((answer) => {
        const row = okxData(answer)[0];
        if (!row) throw ExchangeError.permanent(C.noPrice, `no ticker for ${market.symbol}`);
        return parseOkxTicker(row, market.symbol);
      }),
    };
    fresh.load.catch(() => {
      if (this.tickers.get(market.id) === fresh) this.tickers.delete(market.id);
    });
    this.tickers.set(market.id, fresh);
    return fresh.load;
  }
}

/** The endpoints of one factory: live and demo trading on the configured base URL. */
export class OkxEndpoints {
  private readonly byMode = new Map<boolean, OkxEndpoint>();

  constructor(
    private readonly options: Omit<OkxEndpointOptions, 'sandbox'> = {},
    private readonly runners: OkxRunnerFactory = inProcessRunners(),
  ) {}

  for(sandbox: boolean): OkxEndpoint {
    let endpoint = this.byMode.get(sandbox);
    if (!endpoint) this.byMode.set(sandbox, (endpoint = new OkxEndpoint({ ...this.options, sandbox }, this.runners)));
    return endpoint;
  }
}
