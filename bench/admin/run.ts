// Times every admin endpoint over HTTP on a seeded database (100k users, up to 10M orders).
// Run: npx ts-node -r tsconfig-paths/register bench/admin/run.ts [--users 100000] [--orders 10000000]
//      [--seed-budget-s 1800] [--runs 10] [--explain bench/admin/explain.txt] [--keep] [--db <name>]
// The database is torgovo_bench_admin_<random>, created here and dropped at the end (also on failure),
// unless --keep (then its name is printed; drop it by hand). --db <name> times an existing, already
// seeded database again (after `--keep`): migrations still run on it, nothing is seeded.
// Orders are seeded in chunks of 1M until --orders or the seeding budget is reached, into a table
// without its secondary indexes, FK checks and triggers (a bench-only database: the indexes are
// built once after the load); the timings are for the size actually reached (printed). The rollup
// job, the PnL-by-day recomputation (--pnl no skips it; --pnl-timeout-s bounds it) and the payment
// revenue folding are run once after seeding (timed), as the worker would have kept them current.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig, dataSourceOptions, migrateWithLock, validateEnv } from '@torgovo/core';
import { compactPaymentRevenue } from '@torgovo/payments';
import { OrderStatsRollup, PerformanceEngine, recomputePnlDayStats } from '@torgovo/trading';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { seedAccounts, seedOrders, withoutOrderIndexes } from './seed';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TZ = 'Asia/Karachi';
const CHUNK = 1_000_000;

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

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(1)}] ${msg}`);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const users = Number(arg('users', '100000'));
  const ordersWanted = Number(arg('orders', '10000000'));
  const budgetMs = Number(arg('seed-budget-s', '1800')) * 1000;
  const runs = Number(arg('runs', '10'));
  const explainFile = arg('explain', '');
  const reuse = arg('db', '');
  const keep = process.argv.includes('--keep') || reuse !== '';
  const name = reuse || `torgovo_bench_admin_${randomBytes(4).toString('hex')}`;
  if (!reuse) await onAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  // The FIFO PnL recomputation over millions of orders is the one long statement: bounded here.
  const pnlTimeoutS = Number(arg('pnl-timeout-s', '1800'));
  await onAdmin((c) => c.query(`ALTER DATABASE ${name} SET statement_timeout = '${pnlTimeoutS}s'`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = await new DataSource({ ...dataSourceOptions(url.toString(), 2, 'bench-admin'), entities: [] }).initialize();
  let app: NestFastifyApplication | undefined;
  try {
    await migrateWithLock(ds);
    const seedStart = Date.now();
    const db = ds.createQueryRunner();
    await db.connect();
    await db.query(`SET synchronous_commit = off`);
    let seeded = 0;
    let indexS = 0;
    if (!reuse) {
      await seedAccounts(db, users);
      log(`accounts seeded: ${users} users in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
      const ordersStart = Date.now();
      indexS = await withoutOrderIndexes(db, log, async () => {
        while (seeded < ordersWanted && Date.now() - seedStart < budgetMs) {
          const to = Math.min(ordersWanted, seeded + CHUNK);
          await seedOrders(db, seeded + 1, to, ordersWanted, users);
          seeded = to;
          log(`orders: ${seeded} (${((Date.now() - ordersStart) / 1000).toFixed(0)} s, ${Math.round(seeded / ((Date.now() - ordersStart) / 1000))}/s)`);
        }
      });
    } else {
      [{ seeded }] = (await ds.query(`SELECT count(*)::int AS seeded FROM orders`)) as Array<{ seeded: number }>;
    }
    await db.release();
    const seedS = (Date.now() - seedStart) / 1000;
    let t = Date.now();
    await ds.query('VACUUM ANALYZE');
    const vacuumS = (Date.now() - t) / 1000;
    t = Date.now();
    const steps = await new OrderStatsRollup(ds, TZ).catchUp();
    const rollupS = (Date.now() - t) / 1000;
    t = Date.now();
    let pnlNote: string;
    if (arg('pnl', 'yes') === 'yes') {
      try {
        const config = new AppConfig(validateEnv({ APP_TIMEZONE: TZ, JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }));
        const { rows } = await recomputePnlDayStats(ds, new PerformanceEngine(ds, config), TZ);
        pnlNote = `PnL by day recomputed (FIFO over every book) in ${((Date.now() - t) / 1000).toFixed(0)} s → ${rows} rows`;
      } catch (err) {
        pnlNote = `PnL by day NOT recomputed: ${(err as Error).message} after ${((Date.now() - t) / 1000).toFixed(0)} s`;
      }
    } else pnlNote = 'PnL by day not recomputed this run (--pnl no)';
    log(pnlNote);
    t = Date.now();
    const { folded } = await compactPaymentRevenue(ds, TZ);
    log(`payment revenue folded: ${folded} appended rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const [{ rollup_rows }] = (await ds.query(`SELECT count(*)::int AS rollup_rows FROM order_day_stats`)) as Array<{ rollup_rows: number }>;
    const [{ orders_table }] = (await ds.query(`SELECT pg_size_pretty(pg_total_relation_size('orders')) AS orders_table`)) as Array<{ orders_table: string }>;
    log(`seeded ${seeded} orders; total seeding ${seedS.toFixed(0)} s (of which index builds ${indexS.toFixed(0)} s); VACUUM ANALYZE ${vacuumS.toFixed(0)} s; rollup ${rollupS.toFixed(1)} s in ${steps} steps → ${rollup_rows} rows; orders table + indexes ${orders_table}`);

    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: url.toString(),
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklmnop',
      ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      LOG_LEVEL: 'warn',
      WORKER_ENABLED: 'false',
      APP_TIMEZONE: TZ,
      AUTH_THROTTLE_LIMIT: '1000',
    });
    app = await createApiApp({});
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const reg = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench-admin@example.com', password: 'correct-horse-battery', full_name: 'Bench Admin' }),
    });
    // 409: a database timed again (--db) has its admin already.
    if (reg.status !== 201 && reg.status !== 409) throw new Error(`register: ${reg.status} ${await reg.text()}`);
    await ds.query(`UPDATE users SET role = 'admin' WHERE email = 'bench-admin@example.com'`);
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench-admin@example.com', password: 'correct-horse-battery' }),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const [{ id: someUser }] = (await ds.query(`SELECT id FROM bench_users WHERE n = $1`, [Math.min(4242, users)])) as Array<{ id: string }>;
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
    const yearAgo = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date(Date.now() - 365 * 86_400_000));
    const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();

    const paths = [
      '/api/admin/overview',
      '/api/admin/users/stats',
      `/api/admin/users/stats?from=${yearAgo}&to=${today}`,
      '/api/admin/trading/stats',
      `/api/admin/trading/stats?from=${yearAgo}&to=${today}`,
      '/api/admin/trading/stats?mode=live',
      '/api/admin/revenue',
      '/api/admin/audit-logs',
      '/api/admin/audit-logs?event_type=auth.register',
      `/api/admin/audit-logs?user_id=${someUser}`,
      '/api/admin/subscriptions',
      '/api/admin/subscriptions?status=past_due&plan=pro',
      '/api/admin/payments',
      '/api/admin/payments?status=failed&provider=okx',
      '/api/admin/orders',
      '/api/admin/orders?status=failed',
      '/api/admin/orders?symbol=NEAR/USDT&status=rejected',
      `/api/admin/orders?user_id=${someUser}`,
      `/api/admin/orders?from=${weekAgo}&mode=live&page=20&limit=200`,
    ];

    // Statements each endpoint runs, for EXPLAIN ANALYZE afterwards.
    const appDs = app.get(DataSource);
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const original = appDs.query.bind(appDs);
    let recording = false;
    appDs.query = ((sql: string, params?: unknown[]) => {
      if (recording) seen.push({ sql, params: params ?? [] });
      return original(sql, params);
    }) as typeof appDs.query;

    const rows: string[] = [];
    const explains: string[] = [];
    for (const path of paths) {
      const times: number[] = [];
      let status = 0;
      let bytes = 0;
      for (let i = 0; i <= runs; i++) {
        recording = i === 0;
        const s = process.hrtime.bigint();
        const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
        const text = await res.text();
        const ms = Number(process.hrtime.bigint() - s) / 1e6;
        status = res.status;
        bytes = text.length;
        if (res.status !== 200) throw new Error(`${path} → ${res.status} ${text.slice(0, 300)}`);
        if (i > 0) times.push(ms); // the first run warms caches and records the statements
      }
      recording = false;
      times.sort((a, b) => a - b);
      const line = `| \`${path.replace(someUser, '{user}').replace(weekAgo, '{7 days ago}').replace(yearAgo, '{a year ago}').replace(today, '{today}')}\` | ${status} | ${pct(times, 50).toFixed(0)} ms | ${pct(times, 95).toFixed(0)} ms | ${times[times.length - 1].toFixed(0)} ms | ${bytes} |`;
      rows.push(line);
      log(line);
      if (explainFile) {
        for (const st of seen.splice(0)) {
          const plan = (await ds.query(`EXPLAIN (ANALYZE, COSTS OFF) ${st.sql}`, st.params)) as Array<{ 'QUERY PLAN': string }>;
          explains.push(`### ${path}\n${st.sql.replace(/\s+/g, ' ').slice(0, 300)}…\n${plan.map((p) => p['QUERY PLAN']).join('\n')}\n`);
        }
      }
      seen.splice(0);
    }
    if (explainFile) writeFileSync(explainFile, explains.join('\n'));
    console.log(
      [
        '',
        `users ${users}, orders ${seeded} (of ${ordersWanted} asked), seeding ${seedS.toFixed(0)} s (index builds ${indexS.toFixed(0)} s of it) (+ VACUUM ANALYZE ${vacuumS.toFixed(0)} s), rollup ${rollupS.toFixed(1)} s → ${rollup_rows} rows, orders ${orders_table}`,
        pnlNote,
        `cpus ${cpus().length}, load average now ${loadavg().map((l) => l.toFixed(1)).join(' / ')}; ${runs} timed runs per endpoint after one warm-up, one at a time`,
        '| request | status | p50 | p95 | max | bytes |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await app?.close();
    await ds.destroy();
    if (keep) console.log(`kept database ${name}: DROP DATABASE ${name} when done`);
    else await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
