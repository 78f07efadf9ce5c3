// Child process of bench/webhook/run.ts: autocannon (programmatic) sending distinct alerts
// round-robin over the webhooks whose secrets are in the file argv[3] (one per line), to the base
// URL argv[2]; every request gets a fresh alert_id, so each is a new alert (new dedupe key, new order).
// Prints one JSON line with the result. argv: url secretsFile seconds connections
import { readFileSync } from 'node:fs';

interface Req {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}
interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (
  opts: { url: string; connections: number; duration: number; requests: Array<Req & { setupRequest: (r: Req) => Req }> },
  done: (err: unknown, r: CannonResult) => void,
) => { stop(): void };
// autocannon ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const [url, secretsFile, seconds, connections] = process.argv.slice(2);
const secrets = readFileSync(secretsFile, 'utf8').split('\n').filter(Boolean);
let n = 0;
const tag = Date.now().toString(36);

const instance = autocannon(
  {
    url,
    connections: Number(connections),
    duration: Number(seconds),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        setupRequest: (req) => {
          n += 1;
          const secret = secrets[n % secrets.length];
          return {
            ...req,
            path: `/api/custom-bot/webhook/receive/${secret}`,
            body: `{"action":"buy","ticker":"BTCUSDT","price":"65000.5","quantity":"0.0001","alert_id":"${tag}-${n}"}`,
          };
        },
      },
    ],
  },
  (err, r) => {
    if (err) throw err;
    process.stdout.write(
      `${JSON.stringify({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts })}\n`,
    );
  },
);
process.on('SIGTERM', () => instance.stop());
