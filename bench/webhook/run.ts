// Load on POST /api/custom-bot/webhook/receive/{secret} with distinct alerts, against the physical
// limit (a bare node:http server doing only the single-row INSERT), on the local PostgreSQL.
// Three processes: the api (bench/webhook/serve-api.ts, a fresh database), then the limit server
// (bench/webhook/serve-limit.ts, same database), and autocannon's CLI as the load generator.
// Run: npx ts-node -r tsconfig-paths/register bench/webhook/run.ts [--seconds 20] [--connections 32]
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { dropBenchDatabases, spawnServer, withLoad } from '../support-child';
import type { ServeApiReady } from './serve-api';

const run = promisify(execFile);
const POOL = '10';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  load: [number, number];
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
}

/** autocannon -I replaces [<id>] with a fresh id per request: every alert is distinct (new dedupe key, new order). */
async function load(url: string, seconds: number, connections: number): Promise<Result> {
  const body = '{"action":"buy","ticker":"BTCUSDT","price":"65000.5","quantity":"0.0001","alert_id":"[<id>]"}';
  const bin = join(__dirname, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');
  const { result, load: avg } = await withLoad(() =>
    run(process.execPath, [bin, '-d', String(seconds), '-c', String(connections), '-m', 'POST', '-H', 'content-type=text/plain', '-b', body, '-I', '-j', url], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: (seconds + 60) * 1000,
    }),
  );
  const j = JSON.parse(result.stdout) as AutocannonJson;
  return { rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, total: j.requests.total, non2xx: j.non2xx, load: avg };
}

async function main(): Promise<void> {
  const seconds = Math.min(Number(arg('seconds', '20')), 120);
  const connections = Math.min(Number(arg('connections', '32')), 256);

  const api = await spawnServer<ServeApiReady>('bench/webhook/serve-api.ts', ['--users', '1', '--pool', POOL]);
  let app: Result;
  let orders: number;
  let version: string;
  const db = new Client({ connectionString: api.ready.databaseUrl });
  try {
    const receiveUrl = `${api.ready.url}/api/custom-bot/webhook/receive/${api.ready.secrets[0]}`;
    await load(receiveUrl, 3, connections); // warm-up: JIT, pool, plan caches
    app = await load(receiveUrl, seconds, connections);
    await db.connect();
    orders = ((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0] as { n: number }).n;
    version = ((await db.query('SELECT version()')).rows[0] as { version: string }).version;
  } catch (err) {
    await api.stop();
    await dropBenchDatabases();
    throw err;
  }

  // The limit server writes into the same (still existing) database; the api is stopped first so
  // the two never compete for the cores.
  const limitServer = await spawnServer<{ url: string }>('bench/webhook/serve-limit.ts', [api.ready.databaseUrl, POOL]);
  let limit: Result;
  try {
    await load(limitServer.ready.url, 3, connections);
    limit = await load(limitServer.ready.url, seconds, connections);
  } finally {
    await limitServer.stop();
    await db.end();
    await api.stop(); // drops the database
    await dropBenchDatabases(); // and the template it was cloned from
  }

  const fmt = (r: Result): string =>
    `| ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} ms | ${r.p99} ms | ${r.total.toLocaleString('en-US')} | ${r.non2xx} | ${r.load[0].toFixed(1)}–${r.load[1].toFixed(1)} |`;
  console.log(
    [
      `date ${new Date().toISOString()}; ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${version.split(' on ')[0]}; Node ${process.version}`,
      `${connections} connections, ${seconds} s, pool ${POOL}`,
      '| server | req/s | p50 | p99 | requests | non-2xx | load avg (1 min) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| api: receive → order ${fmt(app)}`,
      `| limit: node:http + one INSERT ${fmt(limit)}`,
      `ratio ${((app.rps / limit.rps) * 100).toFixed(0)}%; orders written ${orders} (warm-up included)`,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
