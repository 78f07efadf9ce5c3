// Managed bots at scale, on a fresh database (torgovo_bench_managed_<random>, dropped at the end):
//  1. fan-out of one signal to N paper followers: time until every order row exists (one statement),
//     then until every order is filled by the TradingManager (its own loop, as in the worker);
//  2. the same with N live followers on the fake OKX answering every call after --latency-ms (the fake
//     in its own process, bench/burst/serve-okx.ts, as OKX is not in ours; one account per follower);
//  3. performance recomputation for N followers over --orders filled orders: cold (books built), then
//     incremental (one new fill each; then nothing new); --baseline yes: the full engine's read for comparison.
// Run: npx ts-node -r tsconfig-paths/register bench/managed/run.ts [--followers 10000] [--live-followers 10000]
//      [--latency-ms 50] [--orders 1000000] [--concurrency 8] [--pool 10] [--fill yes|no] [--baseline yes|no]
// --fill no: only the fan-out statement is timed (the TradingManager is not started).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrateWithLock, SecretBox } from '@torgovo/core';
import { FollowerPerformanceService, SignalFanoutService } from '@torgovo/managed-bots';
import { TradingManager } from '@torgovo/trading';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { seedFollowers } from '../../test/managed-bots/seed-followers';
import { benchOkxKeys } from '../burst/okx-keys';
import type { OkxStats } from '../burst/serve-okx';
import { Child, cpuMsOf, pgBackends, spawnServer } from '../support-child';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function onAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const load = () => loadavg()[0].toFixed(2);
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)} load ${load()}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createBot(ds: DataSource, name: string): Promise<string> {
  const [{ id }] = (await ds.query(`INSERT INTO managed_bots (name, symbols, min_investment) VALUES ($1, '["BTC/USDT"]', 10) RETURNING id`, [name])) as Array<{ id: string }>;
  return id;
}

/** Polls until no order of the bot waits; returns seconds and the final statuses. */
async function untilExecuted(ds: DataSource, botId: string, started: number, timeoutS: number): Promise<{ seconds: number; statuses: Record<string, number> }> {
  for (;;) {
    const rows = (await ds.query(`SELECT status, count(*)::int AS n FROM orders WHERE managed_bot_id = $1 GROUP BY status`, [botId])) as Array<{ status: string; n: number }>;
    const statuses = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const waiting = (statuses.pending ?? 0) + (statuses.submitting ?? 0) + (statuses.open ?? 0);
    const seconds = (Date.now() - started) / 1000;
    if (waiting === 0 || seconds > timeoutS) return { seconds, statuses };
    await sleep(100);
  }
}

/** CPU ms of this process (api app and TradingManager), the fake OKX's and the database's backends, from `start()`. */
function cpuMeter(ds: DataSource, dbName: string, okxPid: number | undefined): () => Promise<() => Promise<string>> {
  const snapshot = async () => {
    const backends = await pgBackends((sql, params) => ds.query(sql, params), dbName);
    const cpu = process.cpuUsage();
    return { self: (cpu.user + cpu.system) / 1000, okx: cpuMsOf(okxPid), pg: new Map(backends.map((b) => [b.pid, cpuMsOf(b.pid)])) };
  };
  return async () => {
    const a = await snapshot();
    return async () => {
      const b = await snapshot();
      let pg = 0;
      for (const [pid, ms] of b.pg) pg += ms - (a.pg.get(pid) ?? 0);
      return `bench process (api + TradingManager) ${Math.round(b.self - a.self)}, fake OKX ${Math.round(b.okx - a.okx)}, postgres backends ${Math.round(pg)}`;
    };
  };
}

async function fanOutAndFill(
  app: NestFastifyApplication,
  ds: DataSource,
  botId: string,
  label: string,
  price: string,
  fill: boolean,
  meter?: () => Promise<() => Promise<string>>,
): Promise<void> {
  const fanout = app.get(SignalFanoutService);
  const manager = app.get(TradingManager);
  const loadBefore = load();
  const stopMeter = await meter?.();
  const t0 = Date.now();
  const accepted = await fanout.accept(botId, { action: 'buy', symbol: 'BTC/USDT', fraction: '0.1', price, signal_id: `${label}-1`, source: 'api' });
  const createdS = (Date.now() - t0) / 1000;
  log(`${label}: ${accepted.orders_created} orders created in ${createdS.toFixed(3)} s (load before ${loadBefore})`);
  if (!fill) return;
  const t1 = Date.now();
  // The worker's loop runs all along (started once in main: a stopped TradingManager does not start again).
  void manager;
  const done = await untilExecuted(ds, botId, t1, 1800);
  log(`${label}: all executed ${done.seconds.toFixed(2)} s after the fan-out (${JSON.stringify(done.statuses)}); total from the signal ${(createdS + done.seconds).toFixed(2)} s`);
  if (stopMeter) log(`${label}: CPU ms from the signal to the last fill: ${await stopMeter()}`);
  const t2 = Date.now();
  const replay = await fanout.accept(botId, { action: 'buy', symbol: 'BTC/USDT', fraction: '0.1', price, signal_id: `${label}-1`, source: 'api' });
  log(`${label}: the same signal again: ${replay.orders_created} orders, ${((Date.now() - t2) / 1000).toFixed(3)} s`);
}

async function main(): Promise<void> {
  const followers = Number(arg('followers', '10000'));
  const liveFollowers = Number(arg('live-followers', '10000'));
  const latency = Number(arg('latency-ms', '50'));
  const orders = Number(arg('orders', '1000000'));
  const fill = arg('fill', 'yes') !== 'no';
  const name = `torgovo_bench_managed_${randomBytes(4).toString('hex')}`;
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model}); node ${process.version}; database ${name}`);
  await onAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = await new DataSource({ ...dataSourceOptions(url.toString(), 2, 'bench-managed'), entities: [] }).initialize();
  // The fake OKX in its own process, as OKX is not in ours: one account per live follower (keys benchOkxKeys(i)).
  const okx: Child<{ url: string }> | null =
    liveFollowers > 0 ? await spawnServer('bench/burst/serve-okx.ts', ['--latency', String(latency), '--accounts', String(liveFollowers), '--usdt', '100000'], { transpileOnly: true }) : null;
  const okxStats = async () => (okx ? ((await (await fetch(`${okx.ready.url}/bench-stats`)).json()) as OkxStats) : null);
  let app: NestFastifyApplication | undefined;
  try {
    await migrateWithLock(ds);
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: url.toString(),
      DATABASE_POOL_SIZE: arg('pool', '10'),
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklmnop',
      ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      LOG_LEVEL: 'error',
      WORKER_ENABLED: 'true',
      TRADING_MANAGER_ENABLED: 'false',
      TRADING_CONCURRENCY: arg('concurrency', '8'),
      TRADING_POLL_MS: '50',
      TRADING_NOTIFY_ENABLED: 'false',
      TRADING_SYNC_INTERVAL_MS: '0',
      TRADING_MAX_ORDER_AGE_SECONDS: '0',
      BILLING_SWEEP_INTERVAL_SECONDS: '0',
      RETENTION_INTERVAL_MINUTES: '0',
      STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS: '0',
      ORDER_STATS_ROLLUP_INTERVAL_SECONDS: '0',
      MANAGED_BOTS_INTERVAL_SECONDS: '0',
      ...(okx ? { OKX_API_URL: okx.ready.url } : {}),
    });
    app = await createApiApp({});
    await app.init();
    if (fill) app.get(TradingManager).start();

    // 1. Paper.
    const paperBot = await createBot(ds, 'bench paper');
    let t = Date.now();
    await seedFollowers(ds, paperBot, followers, { investment: '1000', tag: 'paper' });
    log(`seeded ${followers} paper followers in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await ds.query('ANALYZE');
    await fanOutAndFill(app, ds, paperBot, `paper ×${followers}`, '50000', fill);

    // 2. Live on the fake OKX, every answer after `latency` ms.
    if (okx) {
      const liveBot = await createBot(ds, 'bench live');
      t = Date.now();
      const users = await seedFollowers(ds, liveBot, liveFollowers, { mode: 'live', investment: '1000', tag: 'live' });
      const box = app.get(SecretBox);
      const rows = users.map((userId, i) => {
        const a = benchOkxKeys(i);
        return [userId, box.seal(a.apiKey, userId), box.seal(a.secret, userId), box.seal(a.passphrase, userId), a.apiKey.slice(-4)];
      });
      for (let i = 0; i < rows.length; i += 2000) {
        const chunk = rows.slice(i, i + 2000);
        await ds.query(
          `INSERT INTO exchange_credentials (user_id, exchange, api_key_enc, secret_enc, passphrase_enc, key_id, api_key_hint, sandbox)
           SELECT u, 'okx', k, s, p, $6, h, false FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(u, k, s, p, h)`,
          [chunk.map((r) => r[0]), chunk.map((r) => r[1]), chunk.map((r) => r[2]), chunk.map((r) => r[3]), chunk.map((r) => r[4]), box.currentKeyId],
        );
      }
      log(`seeded ${liveFollowers} live followers with fake OKX accounts in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      const before = await okxStats();
      // The lead's price at the fake's ask: inside every follower's 1 % slippage.
      await fanOutAndFill(app, ds, liveBot, `fake OKX ${latency} ms ×${liveFollowers}`, '73384.8', fill, cpuMeter(ds, name, okx.pid));
      const after = (await okxStats())!;
      const calls = (s: OkxStats | null) => Object.values(s?.requests ?? {}).reduce((a, b) => a + b, 0);
      log(
        `fake OKX calls: ${calls(after) - calls(before)} (${JSON.stringify(after.requests)}); placed twice: ${after.duplicateClientOrderIds}; refused 50011: ${after.rateLimited}`,
      );
    }

    if (fill) await app.get(TradingManager).stop();

    // 3. Recompute: N followers over `orders` filled orders (seeded; the NOTIFY trigger off while seeding).
    const perBook = Math.max(2, Math.round(orders / followers));
    t = Date.now();
    await ds.query(`ALTER TABLE orders DISABLE TRIGGER USER`);
    await ds.query(`SET synchronous_commit = off`);
    const follows = (await ds.query(`SELECT user_id FROM managed_bot_follows WHERE managed_bot_id = $1`, [paperBot])) as Array<{ user_id: string }>;
    for (let i = 0; i < follows.length; i += 1000) {
      await ds.query(
        `INSERT INTO orders (user_id, managed_bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, price, status, filled, average, cost, fee, fee_currency, client_order_id, created_at, closed_at)
         SELECT u, $2, 'managed', 'bench:' || u || ':' || k, 'paper', 'paper', 'BTC/USDT',
                CASE WHEN k % 2 = 1 THEN 'buy' ELSE 'sell' END, 'market', 0.001, px, 'filled', 0.001, px, px * 0.001,
                CASE WHEN k % 2 = 1 THEN 0.000001 ELSE px * 0.000001 END, CASE WHEN k % 2 = 1 THEN 'BTC' ELSE 'USDT' END,
                'b' || substr(md5(u::text || ':' || k), 1, 31), now() - (($3 - k) || ' minutes')::interval, now() - (($3 - k) || ' minutes')::interval
           FROM unnest($1::uuid[]) AS u, generate_series(1, $3::int) AS k,
                LATERAL (SELECT (45000 + (hashtext(u::text || k) % 10000))::numeric AS px) p`,
        [follows.slice(i, i + 1000).map((f) => f.user_id), paperBot, perBook],
      );
    }
    await ds.query(`ALTER TABLE orders ENABLE TRIGGER USER`);
    await ds.query('VACUUM ANALYZE orders');
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM orders WHERE managed_bot_id = $1`, [paperBot])) as Array<{ n: number }>;
    log(`seeded ${n} filled orders (${perBook} per follower) in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    const perf = app.get(FollowerPerformanceService);
    const timed = async (label: string) => {
      const loadBefore = load();
      const t0 = Date.now();
      const updated = await perf.recompute(null);
      log(`recompute ${label}: ${updated} followers in ${((Date.now() - t0) / 1000).toFixed(2)} s (load before ${loadBefore})`);
    };
    // Cold: no book carried forward yet (the first recompute after deploying this, or a new APP_TIMEZONE): reads all of them once.
    await timed(`cold (every book built from its ${perBook} fills, ${n} in all)`);
    // Steady state: one new fill per follower since, the job's tick (only changed books; each reads its fills since its horizon).
    await ds.query(
      `INSERT INTO orders (user_id, managed_bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, price, status, filled, average, cost, fee, fee_currency, client_order_id, created_at, closed_at)
       SELECT f.user_id, $1, 'managed', 'bench-new:' || f.user_id, 'paper', 'paper', 'BTC/USDT', 'buy', 'market', 0.001, 50000, 'filled', 0.001, 50000, 50, 0.000001, 'BTC',
              'n' || substr(md5(f.user_id::text), 1, 31), now(), now()
         FROM managed_bot_follows f WHERE f.managed_bot_id = $1`,
      [paperBot],
    );
    await timed('incremental (one new fill per follower)');
    await timed('incremental (nothing new since)');
    const [{ reads }] = (await ds.query(
      `SELECT count(*)::int AS reads FROM orders o JOIN managed_follow_books b ON b.user_id = o.user_id AND b.managed_bot_id = o.managed_bot_id AND b.mode = o.mode
        WHERE o.managed_bot_id = $1 AND o.filled > 0 AND coalesce(o.closed_at, o.updated_at) >= b.horizon`,
      [paperBot],
    )) as Array<{ reads: number }>;
    log(`fills an incremental recompute reads now (from each book's horizon): ${reads} of ${n + follows.length}`);
    if (arg('baseline', 'no') === 'yes') {
      // The full FIFO engine over every fill of every follower: what each recompute cost before books were carried forward.
      const all = (await ds.query(`SELECT id, user_id, managed_bot_id, mode FROM managed_bot_follows WHERE managed_bot_id = $1`, [paperBot])) as Array<{
        id: string;
        user_id: string;
        managed_bot_id: string;
        mode: 'paper' | 'live';
      }>;
      const loadBefore = load();
      t = Date.now();
      await perf.figures(all, ds);
      log(`full engine over every fill (the previous recompute's read): ${((Date.now() - t) / 1000).toFixed(2)} s (load before ${loadBefore})`);
    }
  } finally {
    await app?.close();
    await okx?.stop();
    await ds.destroy();
    await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
