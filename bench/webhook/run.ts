// Load on POST /api/custom-bot/webhook/receive/{secret} with distinct alerts (autocannon's
// [<id>] replacement) on the local PostgreSQL, against the physical limit: a bare node:http
// server doing only the same single-row INSERT into webhook_events.
// Run: npx ts-node -r tsconfig-paths/register bench/webhook/run.ts [--seconds 10] [--connections 50] [--write]
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { createTestApp } from '../../test/support/app';
import { createBot, generateWebhook, subscribe } from '../../test/custom-bots/support';

const run = promisify(execFile);
const POOL = 10;

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
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
}

async function load(url: string, seconds: number, connections: number): Promise<Result> {
  const body = '{"action":"buy","ticker":"BTCUSDT","price":"65000.5","quantity":"0.001","alert_id":"[<id>]"}';
  const bin = join(__dirname, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');
  const { stdout } = await run(
    process.execPath,
    [bin, '-d', String(seconds), '-c', String(connections), '-m', 'POST', '-H', 'content-type=text/plain', '-b', body, '-I', '-j', url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const j = JSON.parse(stdout) as AutocannonJson;
  return { rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, total: j.requests.total, non2xx: j.non2xx };
}

/** The limit: parse nothing, check nothing, one INSERT of the same row shape, answer. */
async function baselineServer(databaseUrl: string): Promise<{ server: Server; pool: Pool; url: string }> {
  const pool = new Pool({ connectionString: databaseUrl, max: POOL });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      pool
        .query(
          `INSERT INTO webhook_events (id, webhook_id, bot_id, received_at, ip, outcome, status_code, reason, message, order_id, body, body_bytes)
           VALUES ($1, NULL, NULL, now(), $2, 'rejected', 202, NULL, NULL, NULL, $3, $4)`,
          [randomUUID(), req.socket.remoteAddress ?? null, body, body.length],
        )
        .then(
          () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}'),
          () => res.writeHead(500).end(),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, pool, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '10'));
  const connections = Number(arg('connections', '50'));
  const t = await createTestApp({ LOG_LEVEL: 'warn', WEBHOOK_RATE_LIMIT_PER_IP: '0', DATABASE_POOL_SIZE: String(POOL) });
  try {
    const user = await t.register();
    await subscribe(t, user, 'free');
    const bot = await createBot(t, user, { symbol: 'BTC/USDT' });
    const hook = await generateWebhook(t, user, bot.body.id as string, { rate_limit_per_minute: 100_000 });
    const receiveUrl = `${t.url}/api/custom-bot/webhook/receive/${hook.webhook_secret}`;

    await load(receiveUrl, 2, connections); // warm-up: JIT, pool, plan caches
    const app = await load(receiveUrl, seconds, connections);
    const [{ n: orders }] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM orders`)) as Array<{ n: number }>;

    const base = await baselineServer(t.db.url);
    await load(base.url, 2, connections);
    const limit = await load(base.url, seconds, connections);
    base.server.close();
    await base.pool.end();

    const [{ version }] = (await t.db.dataSource.query('SELECT version()')) as Array<{ version: string }>;
    const ratio = app.rps / limit.rps;
    const fmt = (r: Result) => `| ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} ms | ${r.p99} ms | ${r.total.toLocaleString('en-US')} | ${r.non2xx} |`;
    const report = [
      '',
      `### webhook receive — ${new Date().toISOString().slice(0, 10)}`,
      '',
      `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM; ${version.split(' on ')[0]} on localhost, Node ${process.version}.`,
      `Load: autocannon, ${connections} connections, ${seconds} s, POST text/plain with a distinct alert_id per request (paper bot, market buy); DB pool ${POOL} in both servers; autocannon in its own process on the same machine.`,
      '',
      '| server | req/s | p50 | p99 | requests | non-2xx |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| api: receive → order (Nest + Fastify) ${fmt(app)}`,
      `| limit: node:http + one INSERT ${fmt(limit)}`,
      '',
      `Ratio to the limit: ${(ratio * 100).toFixed(0)}% of the single-INSERT server's throughput. Orders written: ${orders.toLocaleString('en-US')} (one per accepted alert, warm-up included).`,
      'Per accepted alert the api runs: webhook+bot+usage lookup (1 query), entitlement (1), then one transaction with the dedupe claim, the order INSERT and its re-read, and the event INSERT (BEGIN/COMMIT included: 7 round trips), against 1 for the limit.',
      `Run: \`npx ts-node -r tsconfig-paths/register bench/webhook/run.ts --seconds ${seconds} --connections ${connections} --write\``,
      '',
    ].join('\n');
    console.log(report);
    if (process.argv.includes('--write')) appendFileSync(join(__dirname, '..', 'RESULTS.md'), report);
  } finally {
    await t.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
