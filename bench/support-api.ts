// The api as a child process on a bench database, and its bot owners: the setup bench/burst and
// bench/webhook --dist share. One user is set up through the api's HTTP routes (register, a Free
// plan, a running bot, a webhook), then cloned in SQL (support-seed.ts).
import { randomBytes } from 'node:crypto';
import { AddressInfo, createServer } from 'node:net';
import type { DataSource } from 'typeorm';
import { Child, spawnServer } from './support-child';
import { cloneBotOwners, ResealKeys } from './support-seed';
import { LAUNCH_ENV, withLaunchEnv } from '../libs/core/src/runtime/launch-env';

/** `--env NAME=value` (repeatable; or another flag): extra configuration for the api (and worker) processes of a variant run. */
export function extraEnv(flag = '--env'): Record<string, string> {
  const env: Record<string, string> = {};
  process.argv.forEach((a, i) => {
    const pair = a === flag ? process.argv[i + 1] : undefined;
    const eq = pair?.indexOf('=') ?? -1;
    if (pair && eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  });
  return env;
}

/**
 * What test/support/app.ts createTestApp gives the in-process api, for an api or worker process of
 * its own (the JWT secret's value differs, not its length); the webhook rate limits off, as the
 * benches send thousands of alerts from one address. Started as the production image starts them
 * (LAUNCH_ENV: MALLOC_ARENA_MAX, NODE_OPTIONS=--max-semi-space-size); `--no-launch-env` leaves those
 * out, to compare.
 */
export function benchAppEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const launch = process.argv.includes('--no-launch-env') ? (env: NodeJS.ProcessEnv) => env : withLaunchEnv;
  return launch({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    WORKER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    AUTH_THROTTLE_LIMIT: '1000',
    WEBHOOK_RATE_LIMIT_PER_IP: '0',
    WEBHOOK_RATE_LIMIT_PER_USER: '0',
  });
}

/** For a bench's header line: the launch settings its api and worker processes got. */
export function launchEnvLabel(): string {
  return process.argv.includes('--no-launch-env') ? 'launch env none (--no-launch-env)' : `launch env ${JSON.stringify(LAUNCH_ENV)}`;
}

/** --dist: the compiled app (npm run build) in plain node, as `npm start` runs it; else its TypeScript under ts-node (transpile-only). */
export function appProcess(name: 'api' | 'worker', dist: boolean): { script: string; plainNode?: boolean; transpileOnly?: boolean } {
  return dist ? { script: `dist/apps/${name}/src/main.js`, plainNode: true } : { script: `apps/${name}/src/main.ts`, transpileOnly: true };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** An api process (apps/api main) on a free port, ready once it says it listens. */
export async function spawnApi(dist: boolean, env: NodeJS.ProcessEnv): Promise<{ child: Child<unknown>; url: string }> {
  const port = await freePort();
  const child = await spawnServer<unknown>(appProcess('api', dist).script, [], {
    ...appProcess('api', dist),
    env: { ...env, PORT: String(port) },
    readyWhen: (line) => line.includes('Torgovo api listening'),
    readyValue: () => ({}),
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** POSTs JSON to the api; anything but a 2xx throws with the answer. */
export async function postJson<T>(url: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface BotOwnersOptions {
  /** The first user's e-mail prefix and its bot's name. */
  name: string;
  mode?: 'paper' | 'live';
  /** Runs between the Free subscription and the bot (live: a plan with live trading, exchange keys). */
  beforeBot?: (owner: { id: string; token: string }) => Promise<void>;
  /** Exchange keys sealed again for each clone (live). */
  keys?: ResealKeys;
}

/**
 * `n` users, each with a Free plan, one running BTC/USDT market bot (0.0001 BTC an order) and a
 * webhook (rate_limit_per_minute 100,000): the first through the api at `apiUrl`, the others cloned
 * from it on `ds`. Returns the webhooks' secrets, in user order.
 */
export async function setUpBotOwners(apiUrl: string, ds: DataSource, n: number, options: BotOwnersOptions): Promise<string[]> {
  const email = `${options.name}-${randomBytes(4).toString('hex')}@example.com`;
  const reg = await postJson<{ user: { id: string }; access_token: string }>(apiUrl, '/api/auth/register', { email, password: 'correct-horse-battery', full_name: 'Bench' });
  const token = reg.access_token;
  const [free] = (await ds.query(`SELECT id FROM subscription_plans WHERE code = 'free'`)) as Array<{ id: string }>;
  await postJson(apiUrl, '/api/subscriptions', { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false }, token);
  await options.beforeBot?.({ id: reg.user.id, token });
  const bot = await postJson<{ id: string }>(
    apiUrl,
    '/api/bots',
    { name: options.name, symbol: 'BTC/USDT', mode: options.mode ?? 'paper', order_type: 'market', sizing: { type: 'base', value: '0.0001' } },
    token,
  );
  await postJson(apiUrl, `/api/bots/${bot.id}/start`, {}, token);
  const hook = await postJson<{ webhook_secret: string }>(apiUrl, '/api/custom-bot/webhook/generate', { bot_id: bot.id, rate_limit_per_minute: 100_000 }, token);
  return [hook.webhook_secret, ...(await cloneBotOwners(ds, reg.user.id, n - 1, options.keys))];
}
