import type { ExchangeCredentials } from '@torgovo/core';
import { isCcxtLoaded } from './ccxt-loader';
import { assertOkx, createOkxClient, OkxClient, OkxClientPool } from './okx-client';

const creds = (n: number): ExchangeCredentials => ({ exchange: 'okx', apiKey: `k${n}`, secret: `s${n}`, passphrase: `p${n}`, sandbox: false });

describe('OKX client', () => {
  it('does not load ccxt until a client is made', () => {
    expect(isCcxtLoaded()).toBe(false);
    new OkxClientPool({});
    expect(isCcxtLoaded()).toBe(false);
    createOkxClient();
    expect(isCcxtLoaded()).toBe(true);
  });

  it('configures sandbox before the URL override, holds no credentials, and leaves rate limiting to us', () => {
    const client = createOkxClient({ sandbox: true, apiUrl: 'http://127.0.0.1:9/' });
    expect(client.headers['x-simulated-trading']).toBe('1');
    expect(client.urls.api).toEqual({ rest: 'http://127.0.0.1:9' });
    expect(client.options.fetchMarkets).toEqual({ types: ['spot'] });
    expect(client.has.fetchCurrencies).toBe(false);
    expect(client.enableRateLimit).toBe(false);
    expect(client.apiKey).toBeFalsy();
  });

  it('refuses exchanges other than OKX', () => {
    expect(() => assertOkx({ ...creds(1), exchange: 'binance' })).toThrow('not supported');
  });
});

describe('OkxClientPool', () => {
  it('lends an instance with the call’s credentials and headers, and clears them when it comes back', async () => {
    const pool = new OkxClientPool({}, 2);
    let seen: Pick<OkxClient, 'apiKey' | 'secret' | 'password'> & { expTime?: string } = { apiKey: '', secret: '', password: '' };
    let lent: OkxClient | undefined;
    await pool.use(
      creds(1),
      async (c) => {
        lent = c;
        seen = { apiKey: c.apiKey, secret: c.secret, password: c.password, expTime: c.headers.expTime as string | undefined };
      },
      () => ({ expTime: '123' }),
    );
    expect(seen).toEqual({ apiKey: 'k1', secret: 's1', password: 'p1', expTime: '123' });
    expect(lent!.apiKey).toBe('');
    expect(lent!.secret).toBe('');
    expect(lent!.password).toBe('');
    expect(lent!.headers.expTime).toBeUndefined();
  });

  it('leaves no trace of the last caller on an idle instance (ccxt keeps the last request headers)', async () => {
    const pool = new OkxClientPool({ apiUrl: 'http://127.0.0.1:9' }, 1);
    await expect(pool.use(creds(7), (c) => c.privateGetAccountBalance())).rejects.toThrow();
    await pool.use(null, async (c) => {
      expect(JSON.stringify([c.last_request_headers, c.last_request_body, c.apiKey, c.secret, c.password])).not.toMatch(/k7|s7|p7/);
    });
  });

  it('never makes more than `size` instances; a call waits for a free one, in order, and each sees only its own keys', async () => {
    const pool = new OkxClientPool({}, 2);
    const release: Array<() => void> = [];
    const keysSeen: string[] = [];
    const calls = [1, 2, 3, 4].map((n) =>
      pool.use(creds(n), async (c) => {
        // An instance is held across the await: nobody else can swap its keys meanwhile.
        await new Promise<void>((r) => release.push(r));
        keysSeen.push(`${n}:${c.apiKey}`);
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(pool.instances).toBe(2);
    expect(release).toHaveLength(2);
    release.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(release).toHaveLength(2);
    while (release.length > 0) {
      release.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(calls);
    expect(keysSeen).toEqual(['1:k1', '2:k2', '3:k3', '4:k4']);
    expect(pool.instances).toBe(2);
  });

  it('returns the instance when the call fails', async () => {
    const pool = new OkxClientPool({}, 1);
    await expect(pool.use(creds(1), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use(creds(2), async (c) => c.apiKey)).resolves.toBe('k2');
  });
});
