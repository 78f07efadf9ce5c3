import { createServer } from 'node:net';
import { isCcxtLoaded } from '@torgovo/core';
import { ExchangeError, LiveExchangeGateway, OkxEndpoint } from '@torgovo/trading';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';

// OKX's public endpoints (the market list the api checks every alert's symbol against, and the
// ticker) are read with Node's fetch: a process that only reads them never loads ccxt (~70 MB RSS).
describe('OKX public endpoints without ccxt', () => {
  let fake: FakeOkxServer;

  beforeAll(async () => {
    fake = await new FakeOkxServer().start();
  });
  afterAll(async () => {
    await fake?.stop();
  });
  afterEach(() => fake.clearFaults());

  const gatewayOn = (endpoint: OkxEndpoint) => new LiveExchangeGateway(endpoint, { exchange: 'okx', apiKey: '', secret: '', passphrase: '', sandbox: false });

  it('the market list and a ticker are read, and ccxt is never loaded', async () => {
    const endpoint = new OkxEndpoint({ apiUrl: fake.url });
    const markets = await gatewayOn(endpoint).loadMarkets();
    expect(markets.find((m) => m.symbol === 'BTC/USDT')).toMatchObject({ id: 'BTC-USDT', base: 'BTC', quote: 'USDT' });
    const btc = (await endpoint.markets()).get('BTC/USDT')!;
    const ticker = await endpoint.ticker(btc);
    expect(ticker).toMatchObject({ symbol: 'BTC/USDT', last: expect.stringMatching(/^\d+(\.\d+)?$/) });
    expect(isCcxtLoaded()).toBe(false);
  });

  it('demo trading sends x-simulated-trading: 1, as ccxt’s sandbox mode does', async () => {
    const before = fake.requests.length;
    await new OkxEndpoint({ apiUrl: fake.url, sandbox: true }).markets();
    const request = fake.requests.slice(before).find((r) => r.path === '/api/v5/public/instruments');
    expect(request?.headers['x-simulated-trading']).toBe('1');
  });

  it('a server error is a transient exchange_unavailable with a reason a trader can read, and the next read succeeds', async () => {
    const endpoint = new OkxEndpoint({ apiUrl: fake.url });
    fake.inject('server_error', { path: '/api/v5/public/instruments', status: 503 });
    const failure = await gatewayOn(endpoint).loadMarkets().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ExchangeError);
    expect(failure).toMatchObject({ kind: 'transient', code: 'exchange_unavailable' });
    expect((failure as Error).message).not.toMatch(/https?:|127\.0\.0\.1|<html/);
    // A failed load is not kept: the next call reads again.
    await expect(gatewayOn(endpoint).loadMarkets()).resolves.toEqual(expect.arrayContaining([expect.objectContaining({ symbol: 'BTC/USDT' })]));
  });

  it('OKX refusing the request (its own code) is mapped by that code; nothing unreachable is called a refusal', async () => {
    const endpoint = new OkxEndpoint({ apiUrl: fake.url });
    fake.inject('rate_limit', { path: '/api/v5/public/instruments' });
    await expect(gatewayOn(endpoint).loadMarkets()).rejects.toMatchObject({ kind: 'transient', code: 'rate_limited' });

    // A port nobody listens on: a network failure, transient, no URL in the reason.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const failure = await gatewayOn(new OkxEndpoint({ apiUrl: `http://127.0.0.1:${port}` })).loadMarkets().catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'transient', code: 'network_error' });
    expect((failure as Error).message).not.toMatch(/127\.0\.0\.1|https?:/);
  });
});
