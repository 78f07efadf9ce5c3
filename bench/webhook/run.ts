// Load on POST /api/custom-bot/webhook/receive/{secret} with distinct alerts, against the physical
// limit (a bare node:http server doing only the single-row INSERT), on the local PostgreSQL.
// Three processes: the api on a fresh database, then the limit server (bench/webhook/serve-limit.ts,
// same database), and autocannon's CLI as the load generator (bench/webhook/load.ts).
// The api, by mode:
//   default: bench/webhook/serve-api.ts under ts-node, booting the api in that process (createTestApp).
//     ts-node loads node's `domain` module (through `repl`), which puts every EventEmitter and promise
//     through domain hooks: ~4-5 % of the api's busy CPU. Kept so the figures before --dist stay reproducible.
//   --dist: the compiled api (npm run build first), `node dist/apps/api/src/main.js` as `npm start` runs
//     it, with createTestApp's configuration passed as env (support-api.ts benchAppEnv); the limit server
//     then runs in plain node too (test/support/swc-register.js), so neither side pays for ts-node. One difference
//     stays: main.js first applies its heap growth rule (API_HEAP_GROWING_PERCENT, default 60), which
//     the in-process api never gets; `--env API_HEAP_GROWING_PERCENT=0` turns it off.
// Distinct alerts go round-robin over --webhooks webhooks (one user each: the first set up through
// the API, the others cloned from it in SQL), each with a fresh alert_id.
// Run: npx ts-node -T -r tsconfig-paths/register bench/webhook/run.ts [--dist] [--seconds 20] [--connections 32] [--webhooks 1000]
//      [--env NAME=value …] (extra api configuration)
//      [--pre-sql FILE] (SQL run on the bench database before the warm-up: a schema variant to compare)
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { benchAppEnv, extraEnv, launchEnvLabel, setUpBotOwners, spawnApi } from '../support-api';
import { BENCH_RUN, Child, CpuMeter, dropBenchDatabases, pgBackends, spawnServer, withLoad } from '../support-child';
import type { ServeApiReady } from './serve-api';

const run = promisify(execFile);
const POOL = '10';

/** `--env NAME=value` is passed on to the api (serve-api.ts). */
function extraArgs(): string[] {
  return process.argv.flatMap((a, i) => (a === '--env' ? ['--env', process.argv[i + 1]] : []));
}

/**
 * --dist: the compiled api in plain node on a database of its own, with what serve-api.ts sets up:
 * `webhooks` users with a webhook each. Its stop() stops the api and drops the database.
 */
async function spawnDistApi(webhooks: number): Promise<Child<ServeApiReady>> {
  process.env.TORGOVO_TEST_RUN = BENCH_RUN; // names the template and clone: dropped at the end
  const { createTestDatabase } = await import('../../test/support/database');
  const db = await createTestDatabase();
  let api: Awaited<ReturnType<typeof spawnApi>> | undefined;
  try {
    api = await spawnApi(true, { ...benchAppEnv(db.url), DATABASE_POOL_SIZE: POOL, ...extraEnv() });
    const secrets = await setUpBotOwners(api.url, db.dataSource, webhooks, { name: 'webhook' });
    const child = api.child;
    return {
      ready: { url: api.url, databaseUrl: db.url, secrets },
      pid: child.pid,
      async stop() {
        await child.stop();
        await db.drop();
      },
    };
  } catch (err) {
    await api?.child.stop();
    await db.drop();
    throw err;
  }
}

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
  /** CPU ms per answered request: the server process, and its database's PostgreSQL backends. */
  serverCpu: number;
  databaseCpu: number;
}

interface LoadJson {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
}

/** The load generator in its own process (bench/webhook/load.ts): distinct alerts round-robin over the secrets in `secretsFile`. */
/** Whose CPU a measured run counts: the server process, and the backends of its database (through `db`). */
interface CpuScope {
  pid?: number;
  db: Client;
  database: string;
}

async function load(url: string, secretsFile: string, seconds: number, connections: number, cpu?: CpuScope): Promise<Result> {
  const meter = cpu
    ? new CpuMeter(async () => [
        { name: 'server', pid: cpu.pid },
        ...(await pgBackends(async (sql, params) => (await cpu.db.query(sql, params)).rows, cpu.database)).map((b) => ({ name: 'postgres', pid: b.pid })),
      ])
    : undefined;
  await meter?.start();
  const { result, load: avg } = await withLoad(() =>
    run(
      process.execPath,
      [join(__dirname, '..', '..', 'node_modules', 'ts-node', 'dist', 'bin.js'), join(__dirname, 'load.ts'), url, secretsFile, String(seconds), String(connections)],
      { maxBuffer: 64 * 1024 * 1024, timeout: (seconds + 90) * 1000 },
    ),
  );
  const j = JSON.parse(result.stdout.trim().split('\n').pop()!) as LoadJson;
  const spent = meter ? await meter.stop() : {};
  const per = (ms: number | undefined) => (j.total > 0 ? (ms ?? 0) / j.total : 0);
  return { ...j, load: avg, serverCpu: per(spent.server), databaseCpu: per(spent.postgres) };
}

async function main(): Promise<void> {
  const seconds = Math.min(Number(arg('seconds', '20')), 120);
  const connections = Math.min(Number(arg('connections', '32')), 256);

  const webhooks = Math.max(1, Math.min(Number(arg('webhooks', '1000')), 100_000));
  const dist = process.argv.includes('--dist');
  const api = await (dist
    ? spawnDistApi(webhooks)
    : spawnServer<ServeApiReady>('bench/webhook/serve-api.ts', ['--users', '1', '--clones', String(webhooks - 1), '--pool', POOL, ...extraArgs()])
  ).catch(async (err: unknown) => {
    await dropBenchDatabases(); // the template (and a clone its server left)
    throw err;
  });
  const secretsFile = join(tmpdir(), `webhook-bench-${process.pid}.secrets`);
  writeFileSync(secretsFile, api.ready.secrets.join('\n'));
  let app: Result;
  let orders: number;
  let version: string;
  const db = new Client({ connectionString: api.ready.databaseUrl });
  const database = new URL(api.ready.databaseUrl).pathname.slice(1);
  try {
    await db.connect();
    const preSql = arg('pre-sql', '');
    if (preSql) await db.query(readFileSync(preSql, 'utf8'));
    await load(api.ready.url, secretsFile, 3, connections); // warm-up: JIT, pool, plan caches
    // --pgss: where PostgreSQL spends its time (needs pg_stat_statements preloaded, e.g. a scratch cluster via TEST_PG_ADMIN_URL).
    const pgss = process.argv.includes('--pgss');
    if (pgss) await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()');
    app = await load(api.ready.url, secretsFile, seconds, connections, { pid: api.pid, db, database });
    if (pgss) {
      const top = await db.query(
        `SELECT calls, round(total_exec_time)::int AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_exec_time DESC LIMIT 12`,
      );
      console.log(top.rows.map((r: Record<string, unknown>) => `${String(r.calls)} calls, ${String(r.total_ms)} ms total, ${String(r.mean_ms)} ms mean, ${String(r.rows)} rows: ${String(r.query)}`).join('\n'));
    }
    orders = ((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0] as { n: number }).n;
    version = ((await db.query('SELECT version()')).rows[0] as { version: string }).version;
  } catch (err) {
    await api.stop();
    await dropBenchDatabases();
    throw err;
  }

  // The limit server writes into the same (still existing) database; the api is stopped first so
  // the two never compete for the cores.
  // Like for like: with --dist the limit server too runs in plain node (compiled by swc, no ts-node and its `domain`).
  const limitServer = await spawnServer<{ url: string }>('bench/webhook/serve-limit.ts', [api.ready.databaseUrl, POOL], { swc: dist });
  let limit: Result;
  try {
    await load(limitServer.ready.url, secretsFile, 3, connections);
    limit = await load(limitServer.ready.url, secretsFile, seconds, connections, { pid: limitServer.pid, db, database });
  } finally {
    await limitServer.stop();
    await db.end();
    await api.stop(); // drops the database
    await dropBenchDatabases(); // and the template it was cloned from
  }

  const fmt = (r: Result): string =>
    `| ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} ms | ${r.p99} ms | ${r.total.toLocaleString('en-US')} | ${r.non2xx} | ${r.serverCpu.toFixed(3)} | ${r.databaseCpu.toFixed(3)} | ${r.load[0].toFixed(1)}–${r.load[1].toFixed(1)} |`;
  console.log(
    [
      `date ${new Date().toISOString()}; ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${version.split(' on ')[0]}; Node ${process.version}`,
      `api ${dist ? 'compiled, plain node (dist/apps/api/src/main.js); limit server in plain node (swc)' : 'in-process under ts-node (serve-api.ts); limit server under ts-node'}; ${launchEnvLabel()}; extra env ${JSON.stringify(extraEnv())}`,
      `${connections} connections, ${seconds} s, pool ${POOL}, ${webhooks} webhooks (one user and running paper bot each)`,
      '| server | req/s | p50 | p99 | requests | non-2xx | server CPU ms/req | PostgreSQL CPU ms/req | load avg (1 min) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| api: receive → order ${fmt(app)}`,
      `| limit: node:http + one INSERT ${fmt(limit)}`,
      `ratio ${((app.rps / limit.rps) * 100).toFixed(0)}%; orders written ${orders} (warm-up included)`,
      `CPU per request, server + PostgreSQL: api ${(app.serverCpu + app.databaseCpu).toFixed(3)} ms, limit ${(limit.serverCpu + limit.databaseCpu).toFixed(3)} ms (ratio ${(((limit.serverCpu + limit.databaseCpu) / (app.serverCpu + app.databaseCpu)) * 100).toFixed(0)}%)`,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
