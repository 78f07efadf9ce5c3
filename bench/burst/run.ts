// The bar-close burst (issue 16): N TradingView alerts, one per bot (N users, one running bot and
// webhook each), sent within one second; every request must be answered within 3 s, and every order
// placed — on the paper exchange, or on the fake OKX with --latency ms per call — within 10 s of the
// first alert. Processes: --apis api processes (apps/api main) and --workers worker processes
// (apps/worker main) on one fresh database, the fake OKX (live mode) in its own process, and this
// process as the sender (alert i goes at i × window/N ms, to api i mod apis).
// Reports acceptance latency percentiles, time to the last placement, orders per second, orders placed
// twice (must be 0) and the processes' peak RSS.
// Run: npx ts-node -r tsconfig-paths/register bench/burst/run.ts [--bots 10000] [--mode paper|live]
//      [--latency 50] [--apis 1] [--workers 1] [--window-ms 1000] [--dist] [--env NAME=value …] [--worker-env NAME=value …] [--pre-sql FILE]
//      [--no-launch-env]
//      [--sender raw|node-http] [--warm-connections N]
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { DataSource } from 'typeorm';
import { appProcess, benchAppEnv, extraEnv, launchEnvLabel, postJson, setUpBotOwners, spawnApi } from '../support-api';
import { BENCH_RUN, Child, CpuMeter, dropBenchDatabases, pgBackends, spawnServer } from '../support-child';
import { benchOkxKeys } from './okx-keys';
import { RawHttpSender } from './raw-sender';
import type { OkxStats } from './serve-okx';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

function post(url: string, path: string, body: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(body);
  });
}

/**
 * The machine's speed right now, before and after the burst: burst timings differ 2-3x between
 * machines and between phases of one machine (bench/RESULTS.md), so each result carries its own
 * yardstick. 1,000 one-row INSERT round trips on the bench database (PostgreSQL and loopback) and
 * 200,000 SHA-256 of a short string (this process's CPU).
 */
async function yardstick(ds: DataSource): Promise<{ insertsMs: number; hashMs: number }> {
  const runner = ds.createQueryRunner();
  try {
    await runner.query(`CREATE TEMP TABLE IF NOT EXISTS bench_yardstick (id serial PRIMARY KEY, v text)`);
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) await runner.query(`INSERT INTO bench_yardstick (v) VALUES ($1)`, [String(i)]);
    const insertsMs = performance.now() - t0;
    await runner.query(`DROP TABLE bench_yardstick`);
    const t1 = performance.now();
    let h = '';
    for (let i = 0; i < 200_000; i++) h = hash('sha256', h + i);
    return { insertsMs: Math.round(insertsMs), hashMs: Math.round(performance.now() - t1) };
  } finally {
    await runner.release();
  }
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const bots = Math.max(1, Math.min(Number(arg('bots', '10000')), 100_000));
  const mode = arg('mode', 'paper') === 'live' ? 'live' : 'paper';
  const latency = Number(arg('latency', '50'));
  const apis = Math.max(1, Number(arg('apis', '1')));
  const workers = Math.max(1, Number(arg('workers', '1')));
  const windowMs = Number(arg('window-ms', '1000'));
  // --dist: the compiled apps (npm run build), as production runs them; else ts-node (transpile-only), whose compiler adds ~100 MB RSS.
  const dist = process.argv.includes('--dist');
  process.env.TORGOVO_TEST_RUN = BENCH_RUN; // names the template and clone: dropped at the end
  const { createTestDatabase } = await import('../../test/support/database');
  const db = await createTestDatabase();
  const children: Array<Child<unknown>> = [];
  try {
    const okx =
      mode === 'live'
        ? // One OKX account per user: OKX allows 60 placements per 2 s per account and instrument.
          await spawnServer<{ url: string; apiKey: string; secret: string; passphrase: string }>('bench/burst/serve-okx.ts', ['--latency', String(latency), '--accounts', String(bots)], { transpileOnly: true })
        : null;
    if (okx) children.push(okx);
    const env: NodeJS.ProcessEnv = { ...benchAppEnv(db.url), ...(okx ? { OKX_API_URL: okx.ready.url } : {}), ...extraEnv() };
    const apiUrls: string[] = [];
    const apiChildren: Array<Child<unknown>> = [];
    for (let i = 0; i < apis; i++) {
      const { child, url } = await spawnApi(dist, env);
      children.push(child);
      apiChildren.push(child);
      apiUrls.push(url);
    }

    // One user set up through the api, cloned in SQL.
    const liveAccount = async (owner: { id: string; token: string }): Promise<void> => {
      if (!okx) return;
      // Live needs a plan with live trading: the free subscription is moved to Pro (a bench shortcut for a paid activation).
      await db.dataSource.query(`UPDATE user_subscriptions SET plan_id = (SELECT id FROM subscription_plans WHERE code = 'pro') WHERE user_id = $1`, [owner.id]);
      await postJson(apiUrls[0], '/api/users/me/exchange', { exchange: 'okx', api_key: okx.ready.apiKey, secret: okx.ready.secret, passphrase: okx.ready.passphrase, sandbox: false }, owner.token);
    };
    const keys = okx ? { encryptionKey: env.ENCRYPTION_KEY!, apiKey: okx.ready.apiKey, secret: okx.ready.secret, passphrase: okx.ready.passphrase, keysFor: benchOkxKeys } : undefined;
    const secrets = await setUpBotOwners(apiUrls[0], db.dataSource, bots, { name: 'burst', mode, beforeBot: liveAccount, keys });

    // --worker-env NAME=value: for the worker processes only (a NODE_OPTIONS there replaces the launch one).
    const workerEnv: NodeJS.ProcessEnv = { ...env, ...extraEnv('--worker-env') };
    const workerChildren: Array<Child<unknown>> = [];
    for (let i = 0; i < workers; i++) {
      const child = await spawnServer<unknown>(appProcess('worker', dist).script, [], { ...appProcess('worker', dist), env: workerEnv, noReadyLine: true });
      children.push(child);
      workerChildren.push(child);
    }
    await waitFor(db.dataSource, `SELECT count(*)::int AS n FROM worker_heartbeats`, (n) => n >= workers, 180_000);
    // --pre-sql FILE: SQL run on the bench database before the burst (a schema variant to compare).
    const preSql = arg('pre-sql', '');
    if (preSql) await db.dataSource.query(readFileSync(preSql, 'utf8'));

    // The burst.
    const yard0 = await yardstick(db.dataSource);
    const load0 = loadavg()[0];
    const latencies: number[] = [];
    // Each answer by the 100 ms slot in which its request was due to go (the latency's shape over the burst).
    const bySlot = new Map<number, { n: number; max: number; sumStart: number; late: number; lateConnect: number }>();
    const statuses = new Map<number, number>();
    const peak = { api: 0, worker: 0 };
    // Before the burst (set up, idle): what the burst adds to the peak.
    const before = { api: Math.max(0, ...apiChildren.map((c) => rssMb(c.pid))), worker: Math.max(0, ...workerChildren.map((c) => rssMb(c.pid))) };
    const sampler = setInterval(() => {
      for (const c of apiChildren) peak.api = Math.max(peak.api, rssMb(c.pid));
      for (const c of workerChildren) peak.worker = Math.max(peak.worker, rssMb(c.pid));
    }, 200);
    // --sender node-http: node:http's client (~0.11 ms CPU per request on this machine) instead of raw keep-alive sockets.
    const nodeHttp = arg('sender', 'raw') === 'node-http';
    const senders = apiUrls.map((u) => new URL(u)).map((u) => new RawHttpSender(u.hostname, Number(u.port)));
    const requests = secrets.map((secret, i) => {
      const u = new URL(apiUrls[i % apis]);
      const body = `{"action":"buy","ticker":"BTCUSDT","price":"65000","quantity":"0.0001","alert_id":"burst-${i}"}`;
      const path = `/api/custom-bot/webhook/receive/${secret}`;
      return { path, body, bytes: RawHttpSender.post(u.host, path, body) };
    });
    // --warm-connections N: N keep-alive connections per api opened (one GET /api/health each) before the
    // burst, as a TLS-terminating proxy's upstream pool would hold them; 0 (default): every connection
    // opens during the burst. Node 20's libuv accepts one connection per event-loop iteration, so an api
    // saturated by its open connections accepts new ones at a trickle (bench/RESULTS.md, 2026-11-26 11:25).
    const warm = Math.max(0, Math.min(Number(arg('warm-connections', '0')), 1024));
    if (warm > 0) {
      await Promise.all(
        senders.flatMap((sender, k) => {
          const u = new URL(apiUrls[k]);
          const get = Buffer.from(`GET /health HTTP/1.1\r\nhost: ${u.host}\r\nconnection: keep-alive\r\n\r\n`, 'latin1');
          return Array.from({ length: warm }, () => sender.send(get));
        }),
      );
    }
    // CPU ms per process over the burst (api, worker, fake OKX, PostgreSQL backends of this database, this sender).
    const meter = new CpuMeter(async () => [
      ...apiChildren.map((c) => ({ name: 'api', pid: c.pid })),
      ...workerChildren.map((c) => ({ name: 'worker', pid: c.pid })),
      ...(okx ? [{ name: 'fake OKX', pid: okx.pid }] : []),
      ...(await pgBackends((sql, params) => db.dataSource.query(sql, params), db.name)),
      { name: 'sender', pid: process.pid },
    ]);
    await meter.start();
    const t0 = Date.now();
    const sends = requests.map(
      (request, i) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              const started = Date.now();
              const answer = nodeHttp ? post(apiUrls[i % apis], request.path, request.body, { 'content-type': 'text/plain' }) : senders[i % apis].send(request.bytes);
              void answer.then((r) => {
                const latency = Date.now() - started;
                latencies.push(latency);
                const key = Math.floor((i * windowMs) / secrets.length / 100);
                const slot = bySlot.get(key) ?? { n: 0, max: 0, sumStart: 0, late: 0, lateConnect: 0 };
                slot.n += 1;
                slot.max = Math.max(slot.max, latency);
                slot.sumStart += started - t0;
                if (latency > 3000) {
                  slot.late += 1;
                  slot.lateConnect = Math.max(slot.lateConnect, ('connectMs' in r && typeof r.connectMs === 'number' ? r.connectMs : 0));
                }
                bySlot.set(key, slot);
                statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
                resolve();
              });
            },
            Math.floor((i * windowMs) / secrets.length),
          );
        }),
    );
    await Promise.all(sends);
    const answeredAt = Date.now() - t0;
    for (const s of senders) s.close();
    const cpuAnswered = await meter.read();
    // Until every order of the burst is final (or 180 s).
    const deadline = Date.now() + 180_000;
    for (;;) {
      const [{ n }] = (await db.dataSource.query(`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'submitting')`)) as Array<{ n: number }>;
      if (n === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    const cpu = await meter.stop();
    const load1 = loadavg()[0];
    const yard1 = await yardstick(db.dataSource);
    const rows = (await db.dataSource.query(
      `SELECT status, count(*)::int AS n,
              (extract(epoch FROM min(coalesce(closed_at, updated_at))) * 1000)::bigint AS first_ms,
              (extract(epoch FROM max(coalesce(closed_at, updated_at))) * 1000)::bigint AS last_ms,
              max(attempts)::int AS max_attempts
         FROM orders WHERE source_ref <> '' GROUP BY status`,
    )) as Array<{ status: string; n: number; first_ms: string; last_ms: string; max_attempts: number }>;
    const placed = rows.filter((r) => r.status === 'filled' || r.status === 'open');
    const firstPlaced = Math.min(...placed.map((r) => Number(r.first_ms)));
    const lastPlaced = Math.max(...placed.map((r) => Number(r.last_ms)));
    const placedCount = placed.reduce((s, r) => s + r.n, 0);
    const [twicePaper] = (await db.dataSource.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM paper_orders GROUP BY user_id, client_order_id HAVING count(*) > 1) d`,
    )) as Array<{ n: number }>;
    const [twiceOrders] = (await db.dataSource.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM orders GROUP BY source, source_ref HAVING count(*) > 1) d`)) as Array<{ n: number }>;
    const reasons = (await db.dataSource.query(
      `SELECT left(reason, 160) AS reason, count(*)::int AS n FROM orders WHERE status IN ('failed', 'rejected', 'canceled') GROUP BY 1 ORDER BY 2 DESC LIMIT 3`,
    )) as Array<{ reason: string; n: number }>;
    // Where the time went, per order (the timeline columns): waiting for a claim, claim to the placement decision (sent_at: fenced), decision to the exchange's answer recorded.
    const [timeline] = (await db.dataSource.query(
      `SELECT ${[
        ['received', 'created_at', 'claimed', 'submitted_at'],
        ['claimed', 'submitted_at', 'decided', 'sent_at'],
        ['decided', 'sent_at', 'acknowledged', 'acknowledged_at'],
      ]
        .map(([a, ca, b, cb]) => `percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM ${cb} - ${ca}) * 1000) AS "${a}→${b}"`)
        .join(', ')}
         FROM orders WHERE source_ref <> '' AND status IN ('filled', 'open')`,
    )) as Array<Record<string, number[] | null>>;
    const okxStats = okx ? ((await (await fetch(`${okx.ready.url}/bench-stats`)).json()) as OkxStats) : null;
    latencies.sort((a, b) => a - b);
    const within3s = latencies.filter((l) => l <= 3000).length;
    console.log(
      [
        `date ${new Date().toISOString()}; node ${process.version} (the children run the same); ${cpus().length} cores; load avg (1 min) ${load0.toFixed(1)} before, ${load1.toFixed(1)} after`,
        `yardstick (machine speed now): 1,000 INSERT round trips ${yard0.insertsMs} ms before, ${yard1.insertsMs} ms after; 200,000 SHA-256 ${yard0.hashMs} / ${yard1.hashMs} ms`,
        `${bots} alerts over ${bots} bots/users, sent within ${windowMs} ms; ${mode}${okx ? ` (fake OKX, +${latency} ms per call)` : ''}; ${apis} api + ${workers} worker process(es); ${launchEnvLabel()}; extra env ${JSON.stringify(extraEnv())}, worker only ${JSON.stringify(extraEnv('--worker-env'))}`,
        `answers: ${[...statuses].map(([s, n]) => `${n} × ${s}`).join(', ')}; all answered ${answeredAt} ms after the first send; within 3 s: ${within3s}/${bots}`,
        `acceptance latency ms: p50 ${pct(latencies, 50)}, p90 ${pct(latencies, 90)}, p99 ${pct(latencies, 99)}, max ${latencies[latencies.length - 1]}`,
        `by send slot (100 ms: mean start ms → max latency ms): ${[...bySlot.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => `${Math.round(v.sumStart / v.n)}→${v.max}${v.late ? ` (${v.late} over 3 s; connect up to ${Math.round(v.lateConnect)} ms)` : ''}`).join(', ')}`,
        `orders: ${rows.map((r) => `${r.n} ${r.status}`).join(', ')}; max attempts ${Math.max(...rows.map((r) => r.max_attempts))}`,
        `placed: ${placedCount}; last placement ${lastPlaced - t0} ms after the first alert; ${Math.round((placedCount * 1000) / Math.max(1, lastPlaced - firstPlaced))} orders/s between first and last placement`,
        // Live: the order is on the exchange one round trip before we record it (the answer's way back, then the read of its fill).
        ...(okxStats?.lastPlacedAt ? [`on the fake OKX: last order accepted ${okxStats.lastPlacedAt - t0} ms after the first alert (recorded by us ${lastPlaced - okxStats.lastPlacedAt} ms later); ${okxStats.readsBeforeLastPlacement} order reads before it`] : []),
        `orders placed twice: ${twicePaper.n + twiceOrders.n + (okxStats?.duplicateClientOrderIds ?? 0)}${okxStats ? ` (fake OKX: ${okxStats.placements} placement requests, ${okxStats.orders} orders, ${okxStats.rateLimited} refused 50011; ${okxStats.connections} connections; calls ${JSON.stringify(okxStats.requests)})` : ''}`,
        `timeline ms p50 / p99: ${Object.entries(timeline)
          .map(([k, v]) => `${k} ${v ? v.map((x) => Math.round(x)).join(' / ') : '—'}`)
          .join(', ')}`,
        `peak RSS: api ${peak.api} MB, worker ${peak.worker} MB (before the burst: api ${before.api}, worker ${before.worker} MB)`,
        `CPU ms until all answered (per alert): ${Object.entries(cpuAnswered)
          .map(([name, ms]) => `${name} ${ms} (${(ms / bots).toFixed(2)})`)
          .join(', ')}`,
        `CPU ms over the burst (per order): ${Object.entries(cpu)
          .map(([name, ms]) => `${name} ${ms} (${(ms / Math.max(1, placedCount)).toFixed(2)})`)
          .join(', ')}`,
        ...reasons.map((r) => `not placed: ${r.n} × ${r.reason}`),
      ].join('\n'),
    );
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await db.drop();
    await dropBenchDatabases();
    agent.destroy();
  }
}

async function waitFor(ds: DataSource, sql: string, ok: (n: number) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ n }] = (await ds.query(sql)) as Array<{ n: number }>;
    if (ok(n)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${sql}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
