// Times the billing expiry sweep on the local PostgreSQL, on a fresh database per N.
// Run: npx ts-node -r tsconfig-paths/register bench/billing-sweep/run.ts [--n 10000,100000] [--batch 1000] [--write]
// (ts-node, not tsx: tsx emits no decorator metadata and Nest's injection breaks.)
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { CoreModule } from '@torgovo/core';
import { PaymentsModule } from '@torgovo/payments';
import { PlansModule } from '@torgovo/plans';
import { BillingScheduler, BillingSchedulerModule } from '@torgovo/subscriptions';
import { seedDueSubscriptions } from './seed';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

@Module({ imports: [CoreModule.forRoot({ appName: 'bench' }), ScheduleModule.forRoot(), PlansModule, PaymentsModule, BillingSchedulerModule] })
class BenchModule {}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

interface Row {
  n: number;
  batch: number;
  seedMs: number;
  sweepMs: number;
  expired: number;
  batches: number;
  audit: number;
}

async function runOne(n: number, batch: number): Promise<Row> {
  const name = `torgovo_bench_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: url.toString(),
    JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    LOG_LEVEL: 'warn',
    BILLING_SWEEP_INTERVAL_SECONDS: '0',
    BILLING_SWEEP_BATCH: String(batch),
  });
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
  try {
    const ds = app.get(DataSource);
    const [{ id: planId }] = (await ds.query(`SELECT id FROM subscription_plans WHERE code = 'enterprise'`)) as Array<{ id: string }>;
    let t = Date.now();
    await seedDueSubscriptions(ds, n, { planId });
    await ds.query('ANALYZE');
    const seedMs = Date.now() - t;
    t = Date.now();
    const result = await app.get(BillingScheduler).tick();
    const sweepMs = Date.now() - t;
    if (!result) throw new Error('the sweep did not run (lock held?)');
    const [{ count }] = (await ds.query(`SELECT count(*)::int AS count FROM audit_logs WHERE event_type = 'subscription.expired'`)) as Array<{ count: number }>;
    return { n, batch, seedMs, sweepMs, expired: result.expired.rows, batches: result.expired.batches, audit: count };
  } finally {
    await app.close();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

async function main(): Promise<void> {
  const sizes = arg('n', '10000,100000').split(',').map(Number);
  const batch = Number(arg('batch', '1000'));
  const rows: Row[] = [];
  for (const n of sizes) {
    const r = await runOne(n, batch);
    if (r.expired !== n || r.audit !== n) throw new Error(`expected ${n} expired and audited, got ${r.expired} / ${r.audit}`);
    rows.push(r);
    console.log(`N=${n} batch=${batch}: sweep ${r.sweepMs} ms (${Math.round((n / r.sweepMs) * 1000)} rows/s, ${r.batches} batches), seed ${r.seedMs} ms`);
  }
  if (process.argv.includes('--write')) {
    const version = await admin(async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version);
    const lines = [
      '',
      `### billing-sweep — ${new Date().toISOString().slice(0, 10)}`,
      '',
      `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM; PostgreSQL ${version} on localhost (default settings), Node ${process.version}.`,
      'What is timed: one `BillingScheduler.tick()` (advisory lock, then batches of `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT batch) RETURNING`, one audit INSERT per batch, end listeners once per batch, then the renewal sweep) over N active, non-renewing subscriptions past end_date, on a fresh database.',
      '',
      '| N due | batch | sweep | rows/s | batches | audit rows |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.n.toLocaleString('en-US')} | ${r.batch} | ${(r.sweepMs / 1000).toFixed(2)} s | ${Math.round((r.n / r.sweepMs) * 1000).toLocaleString('en-US')} | ${r.batches} | ${r.audit.toLocaleString('en-US')} |`),
      '',
      `Run: \`npx ts-node -r tsconfig-paths/register bench/billing-sweep/run.ts --n ${sizes.join(',')} --batch ${batch} --write\``,
      '',
    ];
    appendFileSync(join(__dirname, '..', 'RESULTS.md'), lines.join('\n'));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
