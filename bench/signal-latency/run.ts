// Signal-to-order latency: time from the webhook's 202 to the order being `filled` on the paper
// exchange, with the TradingManager embedded in the api process at its defaults (TRADING_POLL_MS=250,
// TRADING_CONCURRENCY=8). Alerts are sent open-loop at --rate per second for --seconds, round-robin
// over --users users (one paper bot each; one user's orders execute one at a time by design).
// Run: npx ts-node -r tsconfig-paths/register bench/signal-latency/run.ts [--rate 100] [--seconds 20] [--users 25] [--env NAME=value …]
// (--env passes api configuration through, e.g. --env TRADING_CONCURRENCY=32; --worker-process runs
// the TradingManager in apps/worker, its own process, instead of embedded in the api)
import { cpus } from 'node:os';
import { Client } from 'pg';
import { dropBenchDatabases, spawnServer, withLoad } from '../support-child';
import type { ServeApiReady } from '../webhook/serve-api';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MAX_OUTSTANDING = 2_000;
const DRAIN_TIMEOUT_MS = 120_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms, max ${s[s.length - 1]?.toFixed(0)} ms`;
}

interface Sent {
  orderId: string;
  respondedAt: number;
  responseMs: number;
}

interface OrderTimes {
  id: string;
  status: string;
  created: string;
  submitted: string | null;
  closed: string | null;
}

async function main(): Promise<void> {
  const rate = Math.min(Number(arg('rate', '100')), 1000);
  const seconds = Math.min(Number(arg('seconds', '20')), 120);
  const users = Math.min(Number(arg('users', '25')), 200);

  const passThrough = process.argv.flatMap((a, i) => (a === '--env' && process.argv[i + 1] ? ['--env', process.argv[i + 1]] : []));
  const workerProcess = process.argv.includes('--worker-process');
  const api = await spawnServer<ServeApiReady>('bench/webhook/serve-api.ts', ['--users', String(users), '--worker', String(!workerProcess), ...passThrough]);
  const db = new Client({ connectionString: api.ready.databaseUrl });
  let worker: Awaited<ReturnType<typeof spawnServer>> | null = null;
  try {
    if (workerProcess) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...workerEnv(api.ready.databaseUrl) };
      for (let i = 0; i < passThrough.length; i += 2) {
        const [name, ...value] = passThrough[i + 1].split('=');
        env[name] = value.join('=');
      }
      worker = await spawnServer('apps/worker/src/main.ts', [], { env, readyWhen: (line) => line.includes('Worker started') });
    }
    await db.connect();
    const urls = api.ready.secrets.map((s) => `${api.ready.url}/api/custom-bot/webhook/receive/${s}`);
    const sent: Sent[] = [];
    const failures: string[] = [];
    let outstanding = 0;

    const send = async (i: number): Promise<void> => {
      const body = JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '65000.5', quantity: '0.0001', alert_id: `sig-${i}` });
      const start = Date.now();
      outstanding += 1;
      try {
        const res = await fetch(urls[i % urls.length], { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
        const json = (await res.json()) as { order_id?: string };
        const respondedAt = Date.now();
        if (res.status !== 202 || !json.order_id) failures.push(`${res.status}`);
        else sent.push({ orderId: json.order_id, respondedAt, responseMs: respondedAt - start });
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      } finally {
        outstanding -= 1;
      }
    };

    const total = rate * seconds;
    const { load } = await withLoad(async () => {
      // Open loop: alert i leaves at t0 + i/rate whatever the answers do (TradingView does not wait either).
      const t0 = Date.now();
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        if (outstanding >= MAX_OUTSTANDING) throw new Error('api is not keeping up; stopping the load');
        inflight.push(send(i));
      }
      await Promise.all(inflight);
      // Bounded wait for the TradingManager to finish the queue.
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const r = await db.query(`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'submitting', 'open')`);
        if ((r.rows[0] as { n: number }).n === 0) break;
        await sleep(200);
      }
    });

    // Times as epoch milliseconds; PostgreSQL and this process read the same machine clock.
    const rows = (
      await db.query(
        `SELECT id, status, (extract(epoch FROM created_at) * 1000)::text AS created,
                (extract(epoch FROM submitted_at) * 1000)::text AS submitted, (extract(epoch FROM closed_at) * 1000)::text AS closed
           FROM orders`,
      )
    ).rows as OrderTimes[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const toFill: number[] = [];
    const queued: number[] = [];
    const executing: number[] = [];
    const statuses = new Map<string, number>();
    for (const s of sent) {
      const o = byId.get(s.orderId);
      if (!o) continue;
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      if (o.status !== 'filled' || o.closed === null || o.submitted === null) continue;
      toFill.push(Number(o.closed) - s.respondedAt);
      queued.push(Number(o.submitted) - Number(o.created));
      executing.push(Number(o.closed) - Number(o.submitted));
    }
    console.log(
      [
        `date ${new Date().toISOString()}; ${cpus().length} cores; rate ${rate}/s for ${seconds} s over ${users} users; ${workerProcess ? 'worker in its own process' : 'worker embedded in the api'}, ${passThrough.filter((_, i) => i % 2 === 1).join(' ') || 'default TradingManager settings'}; load avg ${load[0].toFixed(1)}–${load[1].toFixed(1)}`,
        `sent ${total}, 202 ${sent.length}, failed ${failures.length}${failures.length ? ` (${[...new Set(failures)].slice(0, 3).join(', ')})` : ''}; order statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
        `webhook response:            ${stats(sent.map((s) => s.responseMs))}`,
        `202 → filled:                ${stats(toFill)}`,
        `  order row → claimed (wait): ${stats(queued)}`,
        `  claimed → filled (execute): ${stats(executing)}`,
      ].join('\n'),
    );
  } finally {
    await worker?.stop();
    await db.end();
    await api.stop();
    await dropBenchDatabases();
  }
}

/** The worker's configuration: the bench database and the keys createTestApp gives the api. */
function workerEnv(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'info',
    DATABASE_POOL_SIZE: '10',
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
