import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { servedOpenApiDocument } from '../../apps/api/src/swagger';
import { createTestDatabase, TestDatabase } from './database';
import { responseCheckerFor } from './openapi-check';

/** Every log line the app wrote, for "no secret in any log line" assertions. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface TestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  logs: LogCapture;
  /** Base URL of the app listening on a real loopback port. */
  url: string;
  /** The document the app serves at /docs-json; every response of request() is checked against it. */
  openapi: OpenAPIObject;
  request<T = Record<string, unknown>>(method: string, path: string, opts?: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> }): Promise<HttpResult<T>>;
  register(email?: string, password?: string): Promise<{ id: string; email: string; password: string; access_token: string; refresh_token: string }>;
  /** Creates an admin directly and logs in. */
  admin(): Promise<{ id: string; access_token: string }>;
  close(): Promise<void>;
}

let counter = 0;

/** The worker jobs loaded in the api process with every timer off: tests drive tick() by hand. */
export const WORKER_JOBS_BY_HAND: Record<string, string> = {
  WORKER_ENABLED: 'true',
  TRADING_MANAGER_ENABLED: 'false',
  BILLING_SWEEP_INTERVAL_SECONDS: '0',
  RETENTION_INTERVAL_MINUTES: '0',
  STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS: '0',
  ORDER_STATS_ROLLUP_INTERVAL_SECONDS: '0',
  PAYMENT_REVENUE_COMPACT_INTERVAL_SECONDS: '0',
  PNL_ROLLUP_INTERVAL_SECONDS: '0',
  NOTIFICATION_FANOUT_INTERVAL_SECONDS: '0',
  EXPIRY_NOTICE_INTERVAL_SECONDS: '0',
  MANAGED_BOTS_INTERVAL_SECONDS: '0',
  SECRET_RESEAL_INTERVAL_SECONDS: '0',
};

/**
 * Boots the real api (same bootstrap as production) on a fresh clone of the migrated
 * template database, listening on 127.0.0.1:0, with logs captured.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const logs = new LogCapture();
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    WORKER_ENABLED: 'false',
    LOG_LEVEL: 'debug',
    AUTH_THROTTLE_LIMIT: '1000',
    DATABASE_POOL_SIZE: '5',
    ...env,
  });
  let app: NestFastifyApplication;
  try {
    app = await createApiApp({ logging: { destination: logs } });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } finally {
    process.env = saved;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const openapi = servedOpenApiDocument(app);
  if (!openapi) throw new Error('The app serves no OpenAPI document');
  const checker = responseCheckerFor(openapi);

  const request: TestApp['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(url + path, { method, headers, body: payload });
    const text = await res.text();
    checker.check(method, path, res.status, text, res.headers.get('content-type') ?? undefined);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { raw: text };
    }
    return { status: res.status, body: body as never, headers: Object.fromEntries(res.headers.entries()), text };
  };

  const register: TestApp['register'] = async (email, password = 'correct-horse-battery') => {
    const e = email ?? `user${++counter}-${Date.now()}@example.com`;
    const res = await request<{ user: { id: string }; access_token: string; refresh_token: string }>('POST', '/api/auth/register', {
      body: { email: e, password, full_name: 'Test User' },
    });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
    return { id: res.body.user.id, email: e, password, access_token: res.body.access_token, refresh_token: res.body.refresh_token };
  };

  const admin: TestApp['admin'] = async () => {
    const u = await register();
    await db.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [u.id]);
    const res = await request<{ access_token: string }>('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    return { id: u.id, access_token: res.body.access_token };
  };

  return {
    app,
    db,
    logs,
    url,
    openapi,
    request,
    register,
    admin,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
