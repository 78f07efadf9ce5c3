import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, ExchangeCredentials } from '@torgovo/core';
import { DataSource } from 'typeorm';
import type { ExchangeGateway } from './exchange-gateway';
import { LiveExchangeGateway } from './live/live-exchange-gateway';
import { createOkxClient, OkxClientCache } from './live/okx-client';
import { PaperExchangeGateway, PaperExchangeOptions } from './paper/paper-exchange-gateway';

export const PAPER_EXCHANGE_OPTIONS = Symbol('PAPER_EXCHANGE_OPTIONS');

export type LiveCredentials = ExchangeCredentials & { userId: string };

/**
 * Hands out gateways. Live credentials arrive already decrypted (by the worker, at the moment of
 * use) and are kept only inside the cached ccxt instance of that user.
 */
@Injectable()
export class ExchangeGatewayFactory {
  private readonly clients = new OkxClientCache();

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(PAPER_EXCHANGE_OPTIONS) private readonly paperOptions: PaperExchangeOptions,
  ) {}

  forPaper(userId: string): ExchangeGateway {
    return new PaperExchangeGateway(this.dataSource, userId, this.paperOptions);
  }

  forLive(credentials: LiveCredentials): ExchangeGateway {
    const client = this.clients.get(credentials.userId, credentials, { apiUrl: this.config.env.OKX_API_URL });
    return new LiveExchangeGateway(client, secretsOf(credentials));
  }

  /** A one-off gateway that is not cached: for testing credentials before they are stored. */
  forUncachedLive(credentials: ExchangeCredentials): LiveExchangeGateway {
    return new LiveExchangeGateway(createOkxClient(credentials, { apiUrl: this.config.env.OKX_API_URL }), secretsOf(credentials));
  }

  /** Call when a user's credential is replaced or removed. */
  evictLive(userId: string): void {
    this.clients.evict(userId);
  }
}

function secretsOf(c: ExchangeCredentials): string[] {
  return [c.apiKey, c.secret, c.passphrase ?? ''];
}
