import { createHash } from 'node:crypto';
import type { ExchangeCredentials } from '@torgovo/core';
import type { okx as OkxExchange } from 'ccxt';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import { loadCcxt } from './ccxt-loader';

export type OkxClient = OkxExchange;

export interface OkxClientOptions {
  /** OKX_API_URL: another base URL (the local fake in tests). */
  apiUrl?: string;
  timeoutMs?: number;
}

/** Builds a configured ccxt OKX instance; never logs or keeps the credentials elsewhere. */
export function createOkxClient(credentials: ExchangeCredentials, options: OkxClientOptions = {}): OkxClient {
  if (credentials.exchange !== 'okx') {
    throw ExchangeError.permanent(C.unsupportedExchange, `exchange "${credentials.exchange}" is not supported`);
  }
  const ccxt = loadCcxt();
  const client = new ccxt.okx({
    apiKey: credentials.apiKey,
    secret: credentials.secret,
    password: credentials.passphrase ?? undefined,
    enableRateLimit: true,
    timeout: options.timeoutMs ?? 10_000,
    options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
  });
  // With keys, ccxt calls the private /asset/currencies at every loadMarkets whatever the option
  // says (it checks `has`, not `options`); we read no currency metadata, so skip that call.
  client.has.fetchCurrencies = false;
  // Before the URL override: sandbox mode swaps urls.api and adds `x-simulated-trading: 1`.
  if (credentials.sandbox) client.setSandboxMode(true);
  if (options.apiUrl) client.urls.api = { rest: options.apiUrl.replace(/\/+$/, '') };
  // The single-order endpoint, so a failure names this order (default: batch-orders).
  client.options.createOrder = 'privatePostTradeOrder';
  return client;
}

/** Identifies a credential without holding it: a change of key, secret or mode is a new client. */
export function credentialFingerprint(credentials: ExchangeCredentials, apiUrl = ''): string {
  return createHash('sha256')
    .update([credentials.exchange, credentials.apiKey, credentials.secret, credentials.passphrase ?? '', String(credentials.sandbox), apiUrl].join('\u0000'))
    .digest('hex');
}

interface CacheEntry {
  fingerprint: string;
  client: OkxClient;
}

/**
 * One ccxt instance per user's credential, so markets are loaded once and ccxt's rate limiter
 * sees all of that account's calls. A new fingerprint for a user replaces (evicts) the old one;
 * the least recently used entry goes when the cache is full.
 */
export class OkxClientCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly maxEntries = 500) {}

  get(userId: string, credentials: ExchangeCredentials, options: OkxClientOptions = {}): OkxClient {
    const fingerprint = credentialFingerprint(credentials, options.apiUrl);
    const hit = this.entries.get(userId);
    this.entries.delete(userId);
    if (hit && hit.fingerprint === fingerprint) {
      this.entries.set(userId, hit);
      return hit.client;
    }
    const client = createOkxClient(credentials, options);
    this.entries.set(userId, { fingerprint, client });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return client;
  }

  evict(userId: string): void {
    this.entries.delete(userId);
  }

  get size(): number {
    return this.entries.size;
  }
}
