import { randomBytes } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CoreModule, EXCHANGE_CREDENTIAL_TESTER, ExchangeCredentialTester, isCcxtLoaded } from '@torgovo/core';
import { ExchangeGatewayFactory, TradingModule } from '@torgovo/trading';
import { DataSource } from 'typeorm';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser, credentialsOf } from './support';

describe('TradingModule wired into a Nest app', () => {
  let db: TestDatabase;
  let fake: FakeOkxServer;
  let app: INestApplicationContext;
  let factory: ExchangeGatewayFactory;
  let tester: ExchangeCredentialTester;
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await new FakeOkxServer().start();
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      OKX_API_URL: fake.url,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'silent',
    });
    const moduleRef = await Test.createTestingModule({ imports: [CoreModule.forRoot({ appName: 'trading-test' }), TradingModule] }).compile();
    app = await moduleRef.init();
    factory = app.get(ExchangeGatewayFactory);
    tester = app.get<ExchangeCredentialTester>(EXCHANGE_CREDENTIAL_TESTER);
  });
  afterAll(async () => {
    await app?.close();
    await fake?.stop();
    await db?.drop();
    process.env = saved;
  });
  afterEach(() => fake.clearFaults());

  it('trades on paper without ever loading ccxt', async () => {
    const userId = await createUser(app.get(DataSource));
    const paper = factory.forPaper(userId);
    await paper.createOrder({ symbol: 'ETH/USDT', side: 'buy', type: 'market', amount: '1', price: '2500', clientOrderId: 'p1' });
    await expect(paper.fetchBalance()).resolves.toMatchObject({ ETH: { free: '0.999' }, USDT: { free: '7500' } });
    expect(isCcxtLoaded()).toBe(false);
  });

  it('accepts credentials the exchange accepts', async () => {
    const account = fake.addAccount();
    // The key's permissions as OKX reports them (account/config `perm`): what connect checks for withdraw.
    await expect(tester.test(credentialsOf(account))).resolves.toMatchObject({ ok: true, permissions: { read: true, trade: true, withdraw: false } });
    expect(isCcxtLoaded()).toBe(true);
  });

  it("refuses bad credentials in a trader's words from the exchange's code, never echoing the secret or our URL", async () => {
    const account = fake.addAccount();
    const unknownKey = await tester.test({ ...credentialsOf(account), apiKey: 'unknown-key-0001' });
    expect(unknownKey).toEqual({ ok: false, reason: expect.stringContaining('does not recognise this API key') });
    const wrongSecret = await tester.test({ ...credentialsOf(account), secret: 'WrongSecretValue99' });
    expect(wrongSecret).toEqual({ ok: false, reason: expect.stringContaining('secret key does not match') });
    const wrongPassphrase = await tester.test({ ...credentialsOf(account), passphrase: 'nope-nope' });
    expect(wrongPassphrase).toEqual({ ok: false, reason: expect.stringContaining('passphrase is wrong') });
    const demoAsLive = await tester.test(credentialsOf(fake.addAccount({ demo: true }), false));
    expect(demoAsLive).toEqual({ ok: false, reason: expect.stringContaining('other OKX environment') });
    for (const r of [unknownKey, wrongSecret, wrongPassphrase, demoAsLive]) {
      expect(JSON.stringify(r)).not.toContain(account.secret);
      expect(JSON.stringify(r)).not.toMatch(/https?:|127\.0\.0\.1|localhost|api\/v5/);
    }
  });

  it('reports an unreachable exchange as not ok', async () => {
    fake.inject('server_error', { times: 5 });
    const result = await tester.test(credentialsOf(fake.addAccount()));
    expect(result.ok).toBe(false);
    // Said in words, without the status line, our outgoing URL or the fake's address.
    expect(result).toMatchObject({ reason: expect.stringContaining('could not be reached') });
    expect(JSON.stringify(result)).not.toMatch(/https?:|127\.0\.0\.1|localhost|503/);
  });

  it('signs each call with the keys it was given (rotated keys at once, no per-user client to evict); the public market list is loaded once for all', async () => {
    const account = fake.addAccount();
    const userId = 'user-cache-1';
    fake.requests.length = 0;
    const balanceKeys = () => fake.requests.filter((r) => r.method === 'GET' && r.path === '/api/v5/account/balance').map((r) => r.headers['ok-access-key']);
    await factory.forLive({ ...credentialsOf(account), userId }).fetchBalance();
    await factory.forLive({ ...credentialsOf(account), userId }).fetchBalance();
    expect(balanceKeys()).toEqual([account.apiKey, account.apiKey]);

    const rotated = fake.addAccount();
    await factory.forLive({ ...credentialsOf(rotated), userId }).fetchBalance();
    await factory.forLive({ ...credentialsOf(account), userId: 'user-cache-2' }).loadMarkets();
    await factory.forLive({ ...credentialsOf(rotated), userId }).loadMarkets();
    expect(balanceKeys()).toEqual([account.apiKey, account.apiKey, rotated.apiKey]);
    expect(fake.count('GET', '/api/v5/public/instruments')).toBeLessThanOrEqual(1);
  });
});
