import { ScheduleModule } from '@nestjs/schedule';
import { Test, TestingModule } from '@nestjs/testing';
import { CoreModule } from '@torgovo/core';
import { PaymentChecker, PaymentsModule } from '@torgovo/payments';
import { PlansModule } from '@torgovo/plans';
import { FakeCoinGateServer } from '../fakes/coingate/fake-coingate-server';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import type { FakeDeposit } from '../fakes/okx/okx-wire';
import { createTestApp, HttpResult, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import type { TestDatabase } from '../support/database';

export interface InitializeBody {
  payment_id: string;
  subscription_id: string;
  kind: string;
  deposit_address: string;
  deposit_tag: string | null;
  network: string;
  crypto_currency: string;
  crypto_amount: string;
  amount_usd: string;
  expires_in_seconds: number;
  expires_at: string;
  instructions: string;
}

export interface CryptoHarness {
  t: TestApp;
  okx: FakeOkxServer;
  coingate: FakeCoinGateServer;
  admin: FakeAccount;
  plans: Record<string, string>;
  env: Record<string, string>;
  checker: PaymentChecker;
  initialize(token: string, body: Record<string, unknown>): Promise<HttpResult<InitializeBody>>;
  deposit(d: Partial<FakeDeposit> & Pick<FakeDeposit, 'ccy' | 'amt'>): FakeDeposit;
  one<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T>;
  close(): Promise<void>;
}

/** The real api with the worker jobs loaded (timers off), the platform's OKX account on a fake OKX, and a fake CoinGate. */
export async function createCryptoHarness(extraEnv: Record<string, string> = {}): Promise<CryptoHarness> {
  const okx = await new FakeOkxServer().start();
  const admin = okx.addAccount({ balances: {} });
  const coingate = await new FakeCoinGateServer('cg-test-token-0123456789').start();
  const env = {
    ...WORKER_JOBS_BY_HAND,
    PAYMENT_CHECKER_INTERVAL_SECONDS: '0',
    EMAIL_DISPATCH_INTERVAL_SECONDS: '0',
    OKX_API_URL: okx.url,
    OKX_ADMIN_API_KEY: admin.apiKey,
    OKX_ADMIN_SECRET: admin.secret,
    OKX_ADMIN_PASSPHRASE: admin.passphrase,
    COINGATE_API_TOKEN: coingate.apiToken,
    COINGATE_API_URL: coingate.url,
    PUBLIC_URL: 'https://api.torgovo.test',
    ...extraEnv,
  };
  const t = await createTestApp(env);
  const rows = (await t.db.dataSource.query('SELECT id, code FROM subscription_plans')) as Array<{ id: string; code: string }>;
  return {
    t,
    okx,
    coingate,
    admin,
    env,
    plans: Object.fromEntries(rows.map((r) => [r.code, r.id])),
    checker: t.app.get(PaymentChecker),
    initialize: (token, body) => t.request<InitializeBody>('POST', '/api/payments/crypto/initialize', { token, body }),
    deposit: (d) => okx.addDeposit(admin, d),
    async one<T>(sql: string, params: unknown[] = []) {
      const r = (await t.db.dataSource.query(sql, params)) as T[];
      return r[0];
    },
    async close() {
      await t.close();
      await okx.stop();
      await coingate.stop();
    },
  };
}

/** A second worker process on the same database: its own DataSource and PaymentChecker, timers off. */
export async function bootCryptoWorker(db: TestDatabase, env: Record<string, string>): Promise<{ module: TestingModule; checker: PaymentChecker; close(): Promise<void> }> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'silent',
    DATABASE_POOL_SIZE: '4',
    ...env,
  });
  let module: TestingModule;
  try {
    module = await Test.createTestingModule({
      imports: [CoreModule.forRoot({ appName: 'test' }), ScheduleModule.forRoot(), PlansModule, PaymentsModule],
      providers: [PaymentChecker],
    }).compile();
    await module.init();
  } finally {
    process.env = saved;
  }
  return { module, checker: module.get(PaymentChecker), close: () => module.close() };
}
