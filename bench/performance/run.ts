// Times the FIFO performance engine (libs/trading/src/performance) on seeded fills: one bot with many
// fills, one user with many bots, and the whole platform grouped into one row (the admin's PnL by day).
// Run: npx ts-node -r tsconfig-paths/register bench/performance/run.ts [--bot-fills 10000,100000]
//      [--user-bots 20] [--fills-per-bot 5000] [--platform-bots 2000] [--platform-fills-per-bot 500] [--runs 5]
// The database is torgovo_bench_perf_<random>, created here and dropped at the end (also on failure).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { DataSource } from 'typeorm';
import { AppConfig, dataSourceOptions, migrateWithLock, validateEnv } from '@torgovo/core';
import { BENCH_ADMIN_URL, benchArg as arg, onBenchAdmin as onAdmin } from '../bench-db';
import { GROUP_EXPRESSIONS, PerformanceEngine, PerformanceQuery, performanceSql } from '@torgovo/trading';

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(1)}] ${msg}`);

async function newUser(ds: DataSource): Promise<string> {
  const [row] = (await ds.query(`INSERT INTO users (email, password_hash, full_name) VALUES ($1, 'x', 'Bench') RETURNING id`, [
    `bench-${randomBytes(6).toString('hex')}@example.com`,
  ])) as Array<{ id: string }>;
  return row.id;
}

/**
 * `bots` paper bots of `userId` on BTC/USDT, each with `fills` filled orders over the last year:
 * runs of buys then sells (so lots are split across sells), a price wave, paper-like fees (buys in
 * BTC, sells in USDT), every 10th order only partly filled. One INSERT … SELECT generate_series.
 */
async function seedBots(ds: DataSource, userId: string, bots: number, fills: number): Promise<string[]> {
  const rows = (await ds.query(
    `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value, allow_selling_beyond_position)
     SELECT $1, 'bench ' || b, 'BTC/USDT', 'paper', 'paper', 'market', 'base', 0.01, b % 5 = 0 FROM generate_series(1, $2::int) b RETURNING id`,
    [userId, bots],
  )) as Array<{ id: string }>;
  const ids = rows.map((r) => r.id);
  await ds.query(
    `INSERT INTO orders (user_id, bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, status, filled, average, cost, fee, fee_currency,
                         client_order_id, created_at, updated_at, closed_at)
     SELECT $1, b.id, 'webhook', b.id::text || '-' || g, 'paper', 'paper', 'BTC/USDT', o.side, 'market', 0.01 + (g % 7) * 0.001,
            CASE WHEN g % 10 = 0 THEN 'canceled' ELSE 'filled' END, o.filled, o.px, o.filled * o.px,
            CASE WHEN o.side = 'buy' THEN o.filled * 0.001 ELSE o.filled * o.px * 0.001 END,
            CASE WHEN o.side = 'buy' THEN 'BTC' ELSE 'USDT' END,
            md5(b.id::text || g), o.at, o.at, o.at
       FROM unnest($2::uuid[]) AS b(id)
       CROSS JOIN generate_series(1, $3::int) g
       CROSS JOIN LATERAL (SELECT CASE WHEN (g / 3) % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
                                  round((0.01 + (g % 7) * 0.001) * CASE WHEN g % 10 = 0 THEN 0.5 ELSE 1 END, 8) AS filled,
                                  round((30000 + 3000 * sin(g / 40.0) + (g % 13) * 10)::numeric, 1) AS px,
                                  now() - interval '365 days' + make_interval(secs => g * (31536000.0 / $3::int)) AS at) o`,
    [userId, ids, fills],
  );
  return ids;
}

async function time(engine: PerformanceEngine, label: string, q: PerformanceQuery, runs: number): Promise<void> {
  const ms: number[] = [];
  let rows = 0;
  let days = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const result = await engine.compute(q);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    rows = result.length;
    days = result.reduce((n, r) => n + r.daily.length, 0);
  }
  ms.sort((a, b) => a - b);
  log(`| ${label} | ${ms[0].toFixed(0)} ms | ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms | ${ms[ms.length - 1].toFixed(0)} ms | ${rows} rows, ${days} days | load ${loadavg()[0].toFixed(1)} |`);
}

async function main(): Promise<void> {
  const botFills = arg('bot-fills', '10000,100000').split(',').map(Number);
  const userBots = Number(arg('user-bots', '20'));
  const perBot = Number(arg('fills-per-bot', '5000'));
  const platformBots = Number(arg('platform-bots', '2000'));
  const platformPerBot = Number(arg('platform-fills-per-bot', '500'));
  const runs = Number(arg('runs', '5'));
  const name = `torgovo_bench_perf_${randomBytes(4).toString('hex')}`;
  await onAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(BENCH_ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = await new DataSource({ ...dataSourceOptions(url.toString(), 2, 'bench-performance'), entities: [] }).initialize();
  try {
    await migrateWithLock(ds);
    await ds.query(`SET synchronous_commit = off`);
    const engine = new PerformanceEngine(ds, new AppConfig(validateEnv({ APP_TIMEZONE: 'Asia/Karachi', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') })));

    const single: Array<[number, string]> = [];
    for (const n of botFills) {
      const [bot] = await seedBots(ds, await newUser(ds), 1, n);
      single.push([n, bot]);
    }
    const owner = await newUser(ds);
    await seedBots(ds, owner, userBots, perBot);
    const platformUser = await newUser(ds);
    await seedBots(ds, platformUser, platformBots, platformPerBot);
    await ds.query('VACUUM ANALYZE');
    const [{ n: total }] = (await ds.query(`SELECT count(*)::int AS n FROM orders`)) as Array<{ n: number }>;
    log(`seeded ${total} filled orders`);

    if (process.argv.includes('--explain')) {
      const sql = performanceSql({ where: 'o.bot_id = ANY($1::uuid[])', group: GROUP_EXPRESSIONS.book, tz: '$2', modes: null, dailyFrom: null, dailyTo: null });
      const plan = (await ds.query(`EXPLAIN (ANALYZE, COSTS ON) ${sql}`, [[single[0][1]], 'Asia/Karachi'])) as Array<{ 'QUERY PLAN': string }>;
      console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
    }
    log('| query | min | median | max | answer | load |');
    for (const [n, bot] of single) await time(engine, `one bot, ${n} fills (GET /bots/{id}/performance)`, { botIds: [bot], modes: ['paper'] }, runs);
    await time(engine, `one user, ${userBots} bots × ${perBot} fills, per user (GET /performance)`, { userIds: [owner], groupBy: 'user' }, runs);
    await time(engine, `one user, ${userBots} bots × ${perBot} fills, per book`, { userIds: [owner], groupBy: 'book' }, runs);
    await time(engine, `whole platform (${total} fills), one group, last 30 days of daily`, {
      all: true,
      groupBy: 'all',
      dailyFrom: new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10),
    }, Math.min(runs, 3));
  } finally {
    await ds.destroy();
    await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
