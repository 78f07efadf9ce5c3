// The live gateway alone (issue 16): N market orders over N distinct OKX accounts (each its own keys,
// so N credentials pass through the gateway) on the fake OKX in its own process with --latency ms
// added to every answer. No database, no executor: what the gateway itself costs and allows — time
// for all orders at --concurrency orders in flight, OKX calls per order, 50011 refusals, and this
// process's RSS with N credentials (the worker's share of live trading).
// Run: npx ts-node --transpile-only -r tsconfig-paths/register bench/live-gateway/run.ts
//      [--orders 10000] [--latency 50] [--concurrency 256] [--pool 64]
import { cpus, loadavg } from 'node:os';
import { inProcessRunners, LiveExchangeGateway, OkxClientPool, OkxEndpoint } from '@torgovo/trading';
import { spawnServer } from '../support-child';
import { benchOkxKeys } from '../burst/okx-keys';
import type { OkxStats } from '../burst/serve-okx';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const orders = Number(arg('orders', '10000'));
  const latency = Number(arg('latency', '50'));
  const concurrency = Number(arg('concurrency', '256'));
  const poolSize = Number(arg('pool', '64'));
  const okx = await spawnServer<{ url: string; accounts: number }>('bench/burst/serve-okx.ts', ['--latency', String(latency), '--accounts', String(orders)], { transpileOnly: true });
  try {
    const endpoint = new OkxEndpoint({ apiUrl: okx.ready.url }, inProcessRunners(poolSize));
    // Warm-up: ccxt loaded, the market table read (one call for everyone), as in a running worker.
    await new LiveExchangeGateway(endpoint, { exchange: 'okx', ...benchOkxKeys(0), sandbox: false }).loadMarkets();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const load0 = loadavg()[0];
    const latencies: number[] = [];
    const failures = new Map<string, number>();
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < orders; i = next++) {
          const started = Date.now();
          try {
            // A gateway per order, as the executor makes one per use: nothing per user is kept.
            const gateway = new LiveExchangeGateway(endpoint, { exchange: 'okx', ...benchOkxKeys(i), sandbox: false });
            await gateway.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.0001', clientOrderId: `lg${i}` });
            latencies.push(Date.now() - started);
          } catch (error) {
            const key = (error as Error).message.slice(0, 120);
            failures.set(key, (failures.get(key) ?? 0) + 1);
          }
        }
      }),
    );
    const elapsed = Date.now() - t0;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    global.gc?.();
    const stats = (await (await fetch(`${okx.ready.url}/bench-stats`)).json()) as OkxStats;
    latencies.sort((a, b) => a - b);
    const calls = Object.values(stats.requests).reduce((a, b) => a + b, 0);
    console.log(
      [
        `date ${new Date().toISOString()}; ${cpus().length} cores; load avg (1 min) ${load0.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
        `${orders} market orders over ${orders} accounts (distinct keys); fake OKX +${latency} ms per call; ${concurrency} in flight; pool ${poolSize} ccxt instances (made: ${(endpoint.runner as OkxClientPool).instances})`,
        `placed ${latencies.length} in ${elapsed} ms (${Math.round((latencies.length * 1000) / elapsed)} orders/s); per order ms p50 ${pct(latencies, 50)}, p99 ${pct(latencies, 99)}, max ${latencies[latencies.length - 1]}`,
        `OKX calls ${calls} (${(calls / Math.max(1, latencies.length)).toFixed(2)} per order): ${JSON.stringify(stats.requests)}; refused 50011: ${stats.rateLimited}; placed twice: ${stats.duplicateClientOrderIds}`,
        `RSS of this process: ${mb(rssBefore)} MB after warm-up, peak ${mb(peakRss)} MB; heap used after GC ${mb(process.memoryUsage().heapUsed)} MB; rate windows held ${endpoint.limits.size}`,
        ...[...failures].map(([m, n]) => `failed: ${n} × ${m}`),
      ].join('\n'),
    );
  } finally {
    await okx.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
