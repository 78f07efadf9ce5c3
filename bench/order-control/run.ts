// Times the set-based statements of the order timeline and manual control at scale: the admin's
// latency percentiles (GET /admin/trading/stats `latency`), one order watchdog check, and one idle
// pass of the cancel job (what the worker pays every TRADING_CANCEL_POLL_MS when nobody cancels).
// Run: npx ts-node -r tsconfig-paths/register bench/order-control/run.ts [--orders 1000000] [--runs 10]
// The database is torgovo_bench_control_<random>, created here and dropped at the end (also on failure).
// Orders are spread evenly over the last 48 hours (half inside the default 24-hour latency window),
// with their timeline set; 2,000 of them are unsent (the watchdog's and the queue's partial index).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrateWithLock } from '@torgovo/core';
import { OrderCancels, OrderControlConfig, OrderGateways, OrderLatencyStats, OrderTransitions, OrderWatchdog } from '@torgovo/trading';

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

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(1)}] ${msg}`);

async function timed(runs: number, fn: () => Promise<unknown>): Promise<{ median: number; max: number; load: number }> {
  await fn(); // warm
  const ms: number[] = [];
  const load = loadavg()[0];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], max: ms[ms.length - 1], load };
}

async function seed(ds: DataSource, n: number): Promise<void> {
  await ds.query(`INSERT INTO users (email, password_hash, full_name) SELECT 'bench' || g || '@example.test', 'x', 'Bench' FROM generate_series(1, 1000) g`);
  await ds.query(`CREATE TEMP TABLE bench_users AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM users`);
  const chunk = 250_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    // Spans drawn from fixed spreads: ~10-60 ms to send, ~50-300 ms to the answer, fills with the answer.
    await ds.query(
      `INSERT INTO orders (user_id, source, source_ref, mode, exchange, symbol, side, type, amount, price, status, filled,
                           client_order_id, attempts, created_at, updated_at, submitted_at, sent_at, acknowledged_at, closed_at)
       SELECT u.id, 'manual', 'c' || g, CASE WHEN g % 4 = 0 THEN 'live' ELSE 'paper' END, CASE WHEN g % 4 = 0 THEN 'okx' ELSE 'paper' END,
              'BTC/USDT', 'buy', 'market', 0.01, 60000, st, CASE WHEN st = 'filled' THEN 0.01 ELSE 0 END,
              'c' || g, 1, ts, ts,
              CASE WHEN st <> 'pending' THEN ts + interval '5 ms' END,
              CASE WHEN st <> 'pending' THEN ts + (10 + g % 50) * interval '1 ms' END,
              CASE WHEN st <> 'pending' THEN ts + (60 + g % 250) * interval '1 ms' END,
              CASE WHEN st IN ('filled', 'canceled') THEN ts + (60 + g % 250) * interval '1 ms' END
         FROM (SELECT g, now() - ($3::bigint - g)::float8 / $3::bigint * interval '48 hours' AS ts,
                      CASE WHEN g > $3::bigint - 2000 THEN 'pending' WHEN g % 100 < 95 THEN 'filled' ELSE 'canceled' END AS st
                 FROM generate_series($1::bigint, $2::bigint) g) o
         JOIN bench_users u ON u.n = o.g % 1000 + 1`,
      [from, to, n],
    );
    log(`orders: ${to}`);
  }
}

async function main(): Promise<void> {
  // The watchdog logs its alert (2,000 unsent orders are waiting): not part of the output.
  Logger.overrideLogger(false);
  const n = Number(arg('orders', '1000000'));
  const runs = Number(arg('runs', '10'));
  const name = `torgovo_bench_control_${randomBytes(4).toString('hex')}`;
  await onAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = await new DataSource({ ...dataSourceOptions(url.toString(), 2, 'bench-control'), entities: [] }).initialize();
  try {
    await migrateWithLock(ds);
    await ds.query(`SET synchronous_commit = off`);
    const t0 = Date.now();
    await seed(ds, n);
    await ds.query('VACUUM ANALYZE orders');
    log(`seeded ${n} orders in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const config = Object.assign(new OrderControlConfig(), { ORDER_WAIT_ALERT_SECONDS: 60 });
    const latency = new OrderLatencyStats(ds);
    const watchdog = new OrderWatchdog(ds, config, new SchedulerRegistry());
    // Idle pass: nothing to cancel, so the gateways are never asked.
    const cancels = new OrderCancels(ds, null as unknown as OrderGateways, new OrderTransitions(ds), config, new SchedulerRegistry());

    const rows: Array<[string, Awaited<ReturnType<typeof timed>>]> = [];
    const sample = await latency.lastHours(24);
    log(`latency (24 h): ${JSON.stringify(sample)}`);
    rows.push(['latency percentiles, last 24 h (all modes)', await timed(runs, () => latency.lastHours(24))]);
    rows.push(['latency percentiles, last 24 h, mode=live', await timed(runs, () => latency.lastHours(24, 'live'))]);
    rows.push(['latency percentiles, last 1 h', await timed(runs, () => latency.lastHours(1))]);
    rows.push(['watchdog check (+ health flag upsert)', await timed(runs, () => watchdog.tick())]);
    rows.push(['cancel job idle pass', await timed(runs, () => cancels.tick())]);

    console.log(`\n${cpus().length} cores; ${n} orders over 48 h (${Math.round(n / 2)} in the 24 h window), 2,000 unsent; ${runs} runs after a warm-up\n`);
    console.log('| statement | median | max | load (1 min) |\n| --- | ---: | ---: | ---: |');
    for (const [label, r] of rows) console.log(`| ${label} | ${r.median.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${r.load.toFixed(1)} |`);
  } finally {
    await ds.destroy();
    await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
