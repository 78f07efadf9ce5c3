import { SubscriptionActivationService } from '@torgovo/subscriptions';
import { TradingManager } from '@torgovo/trading';
import { planId, TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import type { TestApp } from '../support/app';

export type ManagedPlan = 'managed_basic' | 'managed_premium';

/** A user with an active managed plan, through the real API (a paid plan activated as a payment would). */
export async function managedSubscriber(t: TestApp, plan: ManagedPlan = 'managed_basic'): Promise<TestUser & { email: string }> {
  const u = await t.register();
  const res = await t.request<{ id: string; status: string }>('POST', '/api/subscriptions', {
    token: u.access_token,
    body: { plan_id: await planId(t, plan), billing_cycle: 'monthly', payment_method: 'crypto', auto_renew: false },
  });
  if (res.status !== 201) throw new Error(`subscribe ${plan}: ${res.status} ${res.text}`);
  await t.app.get(SubscriptionActivationService).activate(res.body.id, { payment: { provider: 'manual', reference: `test-${res.body.id}` } });
  return u;
}

/** Connects the user's exchange to an account of the fake OKX through the real API. */
export async function connectOkx(t: TestApp, u: { access_token: string }, account: FakeAccount): Promise<void> {
  const res = await t.request('POST', '/api/users/me/exchange', {
    token: u.access_token,
    body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
  });
  if (res.status !== 200) throw new Error(`connect exchange: ${res.status} ${res.text}`);
}

export async function createManagedBot(t: TestApp, admin: { access_token: string }, body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.request<{ id: string }>('POST', '/api/managed-bots', {
    token: admin.access_token,
    body: { name: 'BTC trend', description: 'test', symbols: ['BTC/USDT'], strategy: 'trend', min_investment: '100', ...body },
  });
  if (res.status !== 201) throw new Error(`create managed bot: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function follow(t: TestApp, u: TestUser, botId: string, body: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await t.request('POST', '/api/managed-bot/subscribe', { token: u.access_token, body: { managed_bot_id: botId, investment: '1000', mode: 'paper', ...body } });
  if (res.status !== 201) throw new Error(`follow: ${res.status} ${res.text}`);
  return res.body;
}

export async function signal(t: TestApp, admin: { access_token: string }, botId: string, body: Record<string, unknown>): Promise<{ signal_id: string; orders_created: number; duplicate: boolean }> {
  const res = await t.request<{ signal_id: string; orders_created: number; duplicate: boolean }>('POST', `/api/managed-bots/${botId}/signals`, {
    token: admin.access_token,
    body: { symbol: 'BTC/USDT', ...body },
  });
  if (res.status !== 202) throw new Error(`signal: ${res.status} ${res.text} ${t.logs.lines.filter((l) => l.includes("\"level\":50")).slice(-1).join("")}`);
  return res.body;
}

/** Runs the TradingManager until no order of the managed bot is pending or submitting. */
export async function drain(t: TestApp, botId: string, timeoutMs = 60_000): Promise<void> {
  const manager = t.app.get(TradingManager);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await manager.runOnce();
    const [{ n }] = (await t.db.dataSource.query(
      `SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1 AND status IN ('pending', 'submitting')`,
      [botId],
    )) as Array<{ n: number }>;
    if (n === 0) return;
    if (Date.now() > deadline) throw new Error(`${n} orders of managed bot ${botId} still pending`);
    // Backoff of a retried order: due again shortly.
    await t.db.dataSource.query(`UPDATE orders SET next_attempt_at = now() WHERE managed_bot_id = $1 AND status = 'pending'`, [botId]);
  }
}

/** The last error line the app logged (to say why a request answered 500). */
export function lastError(t: TestApp): string {
  const line = t.logs.lines.filter((l) => l.includes('"level":50')).at(-1);
  if (!line) return '';
  const parsed = JSON.parse(line) as { err?: { message?: string; stack?: string } };
  return parsed.err?.stack?.split('\n').slice(0, 4).join(' | ') ?? line;
}

/** A worker process's managed-bots part (what WorkerModule wires), on its own DataSource: a second replica. */
export async function bootManagedWorker(dbUrl: string): Promise<{ job: import('@torgovo/managed-bots').ManagedBotsJob; close(): Promise<void> }> {
  const { Test } = await import('@nestjs/testing');
  const { ScheduleModule } = await import('@nestjs/schedule');
  const { CoreModule } = await import('@torgovo/core');
  const { UsersModule } = await import('@torgovo/users');
  const { TradingModule } = await import('@torgovo/trading');
  const { ManagedBotsJob, ManagedBotsJobsModule } = await import('@torgovo/managed-bots');
  const { LogCapture } = await import('../support/app');
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: dbUrl,
    DATABASE_POOL_SIZE: '4',
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'warn',
    MANAGED_BOTS_INTERVAL_SECONDS: '0',
  });
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [CoreModule.forRoot({ appName: 'managed-worker-test', logging: { destination: new LogCapture() } }), ScheduleModule.forRoot(), UsersModule, TradingModule, ManagedBotsJobsModule],
    }).compile();
    const ctx = await moduleRef.init();
    return { job: ctx.get(ManagedBotsJob), close: () => ctx.close() };
  } finally {
    process.env = saved;
  }
}
