import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, ExchangeCredentials, OKX_CALLS_MODE, OkxCallsMode, OkxSidecar } from '@torgovo/core';
import { DataSource } from 'typeorm';
import type { ExchangeGateway } from './exchange-gateway';
import { LiveExchangeGateway } from './live/live-exchange-gateway';
import { inProcessRunners, OkxEndpoints } from './live/okx-endpoint';
import { PaperExchangeGateway, PaperExchangeOptions } from './paper/paper-exchange-gateway';

export const PAPER_EXCHANGE_OPTIONS = Symbol('PAPER_EXCHANGE_OPTIONS');

export type LiveCredentials = ExchangeCredentials & { userId: string };

/**
 * Hands out gateways. Live credentials arrive already decrypted (by the worker, at the moment of
 * use) and live only in the gateway made for that use, and in a pooled ccxt instance for the length
 * of one call (OkxClientPool); nothing per user is cached.
 */
@Injectable()
export class ExchangeGatewayFactory {
  private readonly okx: OkxEndpoints;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(PAPER_EXCHANGE_OPTIONS) private readonly paperOptions: PaperExchangeOptions,
    @Inject(OKX_CALLS_MODE) okxCalls: OkxCallsMode,
    sidecar: OkxSidecar,
  ) {
    // The worker (and the embedded default) signs with pooled ccxt instances here; the api alone sends its few calls to the OKX call process.
    const runners = okxCalls === 'sidecar' ? sidecar.runnerFor.bind(sidecar) : inProcessRunners(config.env.OKX_CLIENT_POOL_SIZE);
    this.okx = new OkxEndpoints({ apiUrl: config.env.OKX_API_URL, maxConnections: config.env.OKX_MAX_CONNECTIONS }, runners);
  }

  forPaper(userId: string): ExchangeGateway {
    return new PaperExchangeGateway(this.dataSource, userId, this.paperOptions);
  }

  forLive(credentials: LiveCredentials): ExchangeGateway {
    return this.forUncachedLive(credentials);
  }

  /** A gateway for credentials that are not (yet) stored: testing keys, public market data. Nothing is kept. */
  forUncachedLive(credentials: ExchangeCredentials): LiveExchangeGateway {
    return new LiveExchangeGateway(this.okx.for(credentials.sandbox), credentials);
  }
}
