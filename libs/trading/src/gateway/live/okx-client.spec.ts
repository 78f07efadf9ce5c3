import type { ExchangeCredentials } from '@torgovo/core';
import { isCcxtLoaded } from './ccxt-loader';
import { credentialFingerprint, createOkxClient, OkxClientCache } from './okx-client';

const creds: ExchangeCredentials = { exchange: 'okx', apiKey: 'k1', secret: 's1', passphrase: 'p1', sandbox: false };

describe('OKX client', () => {
  it('does not load ccxt until a client is made', () => {
    expect(isCcxtLoaded()).toBe(false);
    createOkxClient(creds);
    expect(isCcxtLoaded()).toBe(true);
  });

  it('configures sandbox before the URL override, and the single-order endpoint', () => {
    const client = createOkxClient({ ...creds, sandbox: true }, { apiUrl: 'http://127.0.0.1:9/' });
    expect(client.headers['x-simulated-trading']).toBe('1');
    expect(client.urls.api).toEqual({ rest: 'http://127.0.0.1:9' });
    expect(client.options.createOrder).toBe('privatePostTradeOrder');
    expect(client.options.fetchMarkets).toEqual({ types: ['spot'] });
    expect(client.has.fetchCurrencies).toBe(false);
  });

  it('refuses exchanges other than OKX', () => {
    expect(() => createOkxClient({ ...creds, exchange: 'binance' })).toThrow('not supported');
  });

  it('reuses a client per user and credential, and replaces it when the credential changes', () => {
    const cache = new OkxClientCache(2);
    const a = cache.get('u1', creds);
    expect(cache.get('u1', { ...creds })).toBe(a);
    const b = cache.get('u1', { ...creds, secret: 's2' });
    expect(b).not.toBe(a);
    expect(cache.size).toBe(1);
    cache.evict('u1');
    expect(cache.get('u1', { ...creds, secret: 's2' })).not.toBe(b);
  });

  it('drops the least recently used client when full', () => {
    const cache = new OkxClientCache(2);
    const u1 = cache.get('u1', creds);
    cache.get('u2', creds);
    cache.get('u1', creds);
    cache.get('u3', creds);
    expect(cache.size).toBe(2);
    expect(cache.get('u1', creds)).toBe(u1);
  });

  it('fingerprints every part of a credential', () => {
    const base = credentialFingerprint(creds);
    expect(credentialFingerprint({ ...creds, passphrase: 'p2' })).not.toBe(base);
    expect(credentialFingerprint({ ...creds, sandbox: true })).not.toBe(base);
    expect(credentialFingerprint(creds, 'http://other')).not.toBe(base);
    expect(base).not.toContain('s1');
  });
});
