/**
 * What the user-event triggers cost the order path. On its own database (migrated), one user and
 * bot, then, with the orders trigger enabled and disabled in turn (interleaved, twice each):
 * - insert: single-row INSERTs of pending orders (the webhook hot path; no user-event trigger on INSERT),
 * - claim:  single-row UPDATE pending → submitting (fires the statement trigger, writes no event),
 * - finish: single-row UPDATE submitting → filled (writes one event + NOTIFY),
 * - batch:  one UPDATE of 1000 rows open → canceled (one INSERT … SELECT of 1000 events).
 * Session with synchronous_commit off (the trigger's cost, not the disk's). EXPLAIN ANALYZE of a
 * 1000-row status change shows the trigger's own time.
 * Run: npx ts-node -r tsconfig-paths/register bench/user-events/run.ts [--n 3000]
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrateWithLock } from '@torgovo/core';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('n', 3000);
const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function timed(c: Client, n: number, sql: (i: number) => [string, unknown[]]): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.query(...sql(i));
  return Number(process.hrtime.bigint() - start) / 1e6 / n;
}

async function main(): Promise<void> {
  const name = `torgovo_bench_events_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(BASE);
  url.pathname = `/${name}`;
  const ds = await new DataSource({ ...dataSourceOptions(url.toString(), 2, 'bench-events'), entities: [] }).initialize();
  const c = new Client({ connectionString: url.toString() });
  try {
    await migrateWithLock(ds);
    await c.connect();
    // The trigger's own cost, not the WAL flush that dominates every commit on this shared disk.
    await c.query(`SET synchronous_commit = off`);
    const [{ id: userId }] = (await c.query(`INSERT INTO users (email, password_hash, full_name) VALUES ('bench@example.com', 'x', 'b') RETURNING id`)).rows;
    const [{ id: botId }] = (
      await c.query(
        `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value) VALUES ($1, 'b', 'BTC/USDT', 'paper', 'paper', 'market', 'quote', 100) RETURNING id`,
        [userId],
      )
    ).rows;
    const results: Record<string, number[]> = {};
    const record = (k: string, v: number) => (results[k] ??= []).push(v);
    for (let round = 0; round < 4; round++) {
      const on = round % 2 === 0;
      await c.query(`ALTER TABLE orders ${on ? 'ENABLE' : 'DISABLE'} TRIGGER user_events_orders`);
      const tag = `${round}-${randomBytes(3).toString('hex')}`;
      const label = on ? 'trigger on' : 'trigger off';
      record(`insert ${label}`, await timed(c, N, (i) => [
        `INSERT INTO orders (user_id, bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, status, client_order_id)
         VALUES ($1, $2, 'webhook', $3, 'paper', 'paper', 'BTC/USDT', 'buy', 'market', 0.001, 'pending', $4)`,
        [userId, botId, `${tag}-${i}`, `b${tag.replace('-', '')}${i}`.slice(0, 32)],
      ]));
      const ids = (await c.query(`SELECT id FROM orders WHERE source_ref LIKE $1 ORDER BY source_ref`, [`${tag}-%`])).rows.map((r: { id: string }) => r.id);
      record(`claim ${label}`, await timed(c, N, (i) => [`UPDATE orders SET status = 'submitting', attempts = attempts + 1, updated_at = now() WHERE id = $1 AND status = 'pending'`, [ids[i]]]));
      record(`finish ${label}`, await timed(c, N, (i) => [
        `UPDATE orders SET status = 'filled', filled = 0.001, average = 65000, cost = 65, closed_at = now(), updated_at = now() WHERE id = $1 AND status = 'submitting'`,
        [ids[i]],
      ]));
      await c.query(`UPDATE orders SET status = 'open' WHERE id = ANY($1::uuid[])`, [ids.slice(0, 1000)]);
      record(`batch-1000 ${label}`, await timed(c, 1, () => [`UPDATE orders SET status = 'canceled', reason = 'bench' WHERE id = ANY($1::uuid[])`, [ids.slice(0, 1000)]]));
    }
    const events = (await c.query(`SELECT count(*)::int AS n FROM user_events`)).rows[0].n;
    console.log(`n=${N} per round, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, user_events written: ${events}`);
    for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(24)} ${v.map((x) => x.toFixed(3)).join(' / ')} ms per statement`);
    await c.query(`ALTER TABLE orders ENABLE TRIGGER user_events_orders`);
    await c.query('BEGIN');
    const plan = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) UPDATE orders SET status = 'failed' WHERE id IN (SELECT id FROM orders WHERE status = 'canceled' LIMIT 1000)`);
    await c.query('ROLLBACK');
    console.log(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
  } finally {
    await c.end().catch(() => undefined);
    await ds.destroy();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
