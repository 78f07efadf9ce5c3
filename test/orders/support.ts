import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CoreModule, SecretBox } from '@torgovo/core';
import { NewOrder, OrderRecord, OrdersService, TradingManager, TradingManagerModule, TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { Logger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { generateWebhook, sendAlert, subscribe, TestUser } from '../custom-bots/support';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import type { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { LogCapture, TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';

export const ORDER_PATH = '/api/v5/trade/order';
/** Shared by every worker of one test file, as replicas share ENCRYPTION_KEY. */
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');

export interface TestWorker {
  ctx: INestApplicationContext;
  manager: TradingManager;
  ds: DataSource;
  orders: OrdersService;
  logs: LogCapture;
  close(): Promise<void>;
}

/** A worker process's trading part (the modules WorkerModule wires), on its own DataSource and pool. */
export async function bootWorker(db: TestDatabase, env: Record<string, string> = {}): Promise<TestWorker> {
  const saved = { ...process.env };
  const logs = new LogCapture();
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '6',
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY,
    LOG_LEVEL: 'info',
    TRADING_MANAGER_ENABLED: 'false',
    TRADING_POLL_MS: '20',
    TRADING_BACKOFF_BASE_MS: '40',
    TRADING_BACKOFF_MAX_MS: '160',
    ...env,
  });
  let ctx: INestApplicationContext;
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [CoreModule.forRoot({ appName: 'worker-test', logging: { destination: logs } }), UsersModule, TradingModule, TradingManagerModule],
    }).compile();
    moduleRef.useLogger(moduleRef.get(Logger));
    ctx = await moduleRef.init();
  } finally {
    process.env = saved;
  }
  return {
    ctx,
    manager: ctx.get(TradingManager),
    ds: ctx.get(DataSource),
    orders: ctx.get(OrdersService),
    logs,
    close: () => ctx.close(),
  };
}

/** Stores the fake account's keys for the user exactly as ExchangeCredentialsService does (sealed, bound to the user). */
export async function connectExchange(worker: TestWorker, userId: string, account: FakeAccount): Promise<void> {
  const box = worker.ctx.get(SecretBox);
  await worker.ds.query(
    `INSERT INTO exchange_credentials (user_id, exchange, api_key_enc, secret_enc, passphrase_enc, key_id, api_key_hint, sandbox)
     VALUES ($1, 'okx', $2, $3, $4, $5, $6, false)`,
    [userId, box.seal(account.apiKey, userId), box.seal(account.secret, userId), box.seal(account.passphrase, userId), box.currentKeyId, account.apiKey.slice(-4)],
  );
}

let refs = 0;
export async function pendingOrder(worker: TestWorker, input: Partial<NewOrder> & Pick<NewOrder, 'user_id'>): Promise<OrderRecord> {
  const { order } = await worker.orders.createPending(worker.ds.manager, {
    source: 'manual',
    source_ref: `test-${Date.now()}-${++refs}`,
    mode: 'live',
    exchange: 'okx',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: '0.001',
    price: '73384.8',
    ...input,
  });
  return order;
}

export function reload(ds: DataSource, id: string): Promise<OrderRecord> {
  return ds.getRepository(OrderRecord).findOneByOrFail({ id });
}

/** The order's lease (TRADING_LEASE_MS, 15 s at least) or backoff has passed, without waiting for it. */
export async function dueNow(ds: DataSource, id: string): Promise<void> {
  await ds.query(`UPDATE orders SET next_attempt_at = now() - interval '1 millisecond' WHERE id = $1`, [id]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drives one manager until the order leaves pending/submitting (backoffs included). */
export async function settle(worker: TestWorker, id: string, timeoutMs = 15_000): Promise<OrderRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await worker.manager.runOnce();
    const row = await reload(worker.ds, id);
    if (!['pending', 'submitting'].includes(row.status)) return row;
    if (Date.now() > deadline) throw new Error(`order ${id} still ${row.status} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

let notifyRefs = 0;
function paperOrder(userId: string): NewOrder {
  return {
    user_id: userId,
    source: 'manual',
    source_ref: `notify-${Date.now()}-${++notifyRefs}`,
    mode: 'paper',
    exchange: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: '0.001',
    price: '73384.8',
  };
}

/** Inserted by OrdersService.createPending inside an explicit transaction, as the webhook path commits it. */
export async function commitOrder(w: TestWorker, userId: string): Promise<OrderRecord> {
  return w.ds.transaction(async (m) => (await w.orders.createPending(m, paperOrder(userId))).order);
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}

/**
 * A pass-through HTTP proxy in front of the fake OKX that records, per API key, how many signed
 * requests are in flight at once: per-user serialization is observed at the exchange's door.
 * It can also hold requests back (a slow network or exchange) until release().
 */
export class OkxProxy {
  private server?: Server;
  private readonly inFlight = new Map<string, number>();
  readonly maxInFlightByKey = new Map<string, number>();
  maxInFlight = 0;
  private total = 0;
  private holding: ((req: IncomingMessage) => boolean) | null = null;
  private held: Array<() => void> = [];
  /** Requests held back so far. */
  heldCount = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Holds every following request that matches, until release(). */
  hold(matches: (req: IncomingMessage) => boolean): void {
    this.holding = matches;
  }

  release(): void {
    this.holding = null;
    for (const go of this.held.splice(0)) go();
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.holding?.(req)) {
      this.heldCount += 1;
      await new Promise<void>((resolve) => this.held.push(resolve));
    }
    const key = req.headers['ok-access-key'];
    const k = typeof key === 'string' ? key : null;
    if (k) this.enter(k);
    const target = new URL(req.url ?? '/', this.target);
    const upstream = request(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('end', () => k && this.leave(k));
    });
    upstream.on('error', () => {
      if (k) this.leave(k);
      req.socket.destroy(); // the fake cut the connection: cut ours too
    });
    upstream.end(Buffer.concat(chunks));
  }

  private enter(key: string): void {
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxInFlightByKey.set(key, Math.max(n, this.maxInFlightByKey.get(key) ?? 0));
    this.total += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.total);
  }

  private leave(key: string): void {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    this.total -= 1;
  }
}

export interface LiveTrader {
  u: TestUser;
  account: FakeAccount;
  botId: string;
  subscriptionId: string;
  /** Sends a distinct buy alert to the bot's webhook (202) and returns its order id. */
  alert: () => Promise<string>;
}

/** A Pro subscriber with a fake OKX account connected, a running live market bot on BTC/USDT and its webhook. */
export async function liveTrader(t: TestApp, okx: FakeOkxServer, name: string): Promise<LiveTrader> {
  const u = await t.register();
  const subscriptionId = await subscribe(t, u, 'pro');
  const account = okx.addAccount({ balances: { USDT: '10000' } });
  const res = await t.request('POST', '/api/users/me/exchange', {
    token: u.access_token,
    body: { exchange: 'okx', api_key: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox: false },
  });
  expect(res.status).toBe(200);
  const created = await t.request('POST', '/api/bots', {
    token: u.access_token,
    body: { name, symbol: 'BTC/USDT', mode: 'live', order_type: 'market', sizing: { type: 'base', value: '0.001' } },
  });
  expect(created.status).toBe(201);
  const botId = created.body.id as string;
  const hook = await generateWebhook(t, u, botId);
  let n = 0;
  const alert = async () => {
    const r = await sendAlert(t, hook.webhook_secret, { ticker: 'BTCUSDT', action: 'buy', quantity: '0.001', alert_id: `${name}-${++n}-${Date.now()}` });
    expect(r.status).toBe(202);
    return r.body.order_id as string;
  };
  return { u, account, botId, subscriptionId, alert };
}
