import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ccxtLoad, isCcxtLoaded, type ExchangeCredentials } from '@torgovo/core';
import { assertOkx, createOkxClient, OkxClient, OkxClientPool } from './okx-client';

const creds = (n: number): ExchangeCredentials => ({ exchange: 'okx', apiKey: `k${n}`, secret: `s${n}`, passphrase: `p${n}`, sandbox: false });

describe('OKX client', () => {
  it('does not load ccxt until a client is made', () => {
    expect(isCcxtLoaded()).toBe(false);
    new OkxClientPool({});
    expect(isCcxtLoaded()).toBe(false);
    createOkxClient();
    expect(isCcxtLoaded()).toBe(true);
    // ccxt's okx module alone, not the 110-exchange bundle (~44 MB of RSS less): if a ccxt upgrade
    // moved its files, loadOkxClass falls back to the bundle, and this says so.
    expect(ccxtLoad()).toBe('okx-only');
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

  it('lends an instance only while the call signs: one instance serves calls in flight, each signed with its own keys and expTime', async () => {
    const seen: Array<IncomingMessage['headers'] & { body: string; url: string }> = [];
    const release: Array<() => void> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ ...req.headers, body, url: req.url ?? '' });
        // Held until the test lets them go: every call is in flight at once.
        release.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"0","msg":"","data":[]}'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const pool = new OkxClientPool({ apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, 8);
      const calls = [1, 2, 3, 4, 5].map((n) => pool.use(creds(n), (c) => c.privatePostTradeOrder({ instId: 'BTC-USDT', clOrdId: `o${n}` }), () => ({ expTime: `${n}000` })));
      while (seen.length < 5) await new Promise((r) => setTimeout(r, 5));
      expect(pool.instances).toBe(1);
      release.forEach((r) => r());
      await Promise.all(calls);
      for (const h of seen) {
        const n = Number(/"clOrdId":"o(\d)"/.exec(h.body)![1]);
        expect([h['ok-access-key'], h['ok-access-passphrase'], h.exptime]).toEqual([`k${n}`, `p${n}`, `${n}000`]);
        const expected = createHmac('sha256', `s${n}`).update(`${String(h['ok-access-timestamp'])}POST${h.url}${h.body}`).digest('base64');
        expect(h['ok-access-sign']).toBe(expected);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a ccxt call made after the synchronous section (it would sign without the keys or headers): nothing is sent', async () => {
    const pool = new OkxClientPool({ apiUrl: 'http://127.0.0.1:9' }, 1);
    await expect(
      pool.use(
        creds(1),
        async (c) => {
          await Promise.resolve();
          return c.privatePostTradeOrder({ instId: 'BTC-USDT', clOrdId: 'late1' });
        },
        () => ({ expTime: '1' }),
      ),
    ).rejects.toThrow('outside OkxClientPool.use');
    await expect(pool.use(null, async (c) => (await Promise.resolve(), c.publicGetMarketTicker({ instId: 'BTC-USDT' })))).rejects.toThrow('outside OkxClientPool.use');
  });

  it('signs with Node’s HMAC-SHA256 exactly as ccxt’s own (@noble/hashes) does', () => {
    const plain = createOkxClient();
    const original = plain.hmac;
    let sha256: unknown;
    plain.hmac = ((r: unknown, s: unknown, h: unknown, d: unknown) => {
      sha256 = h;
      return (original as (...a: unknown[]) => unknown)(r, s, h, d);
    }) as typeof plain.hmac;
    Object.assign(plain, { apiKey: 'k', secret: 's', password: 'p' });
    plain.sign('trade/order', 'private', 'POST', { instId: 'BTC-USDT' });
    expect(sha256).toBeDefined();
    const pool = new OkxClientPool({}, 1);
    let pooled: OkxClient['hmac'] | undefined;
    void pool.use(null, async (c) => {
      pooled = c.hmac;
    });
    const samples = ['', 'a', '2026-11-25T23:00:00.000ZPOST/api/v5/trade/order{"instId":"BTC-USDT","sz":"0.0001"}', 'ünïcödé ✓ 中文', 'x'.repeat(1000)];
    for (const msg of samples) {
      for (const secret of ['s', 'BENCHOKXSECRET1', 'ü'.repeat(100)]) {
        const args = [plain.encode(msg), plain.encode(secret), sha256, 'base64'] as const;
        expect((pooled as (...a: unknown[]) => unknown)(...args)).toBe((original as (...a: unknown[]) => unknown)(...args));
      }
    }
    // Other digests and hashes are ccxt's own.
    expect((pooled as (...a: unknown[]) => unknown)(plain.encode('m'), plain.encode('k'), sha256, 'hex')).toBe((original as (...a: unknown[]) => unknown)(plain.encode('m'), plain.encode('k'), sha256, 'hex'));
  });

  it('returns the instance when the call fails', async () => {
    const pool = new OkxClientPool({}, 1);
    await expect(pool.use(creds(1), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use(creds(2), async (c) => c.apiKey)).resolves.toBe('k2');
  });
});
