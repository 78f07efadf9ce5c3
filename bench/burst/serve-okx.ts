// Child process of bench/burst/run.ts, bench/live-gateway/run.ts and bench/managed/run.ts: the fake OKX
// (test/fakes/okx) with `--latency` ms added to every answer, `--accounts` accounts (`--usdt` USDT
// each, default ample, and 1,000,000 BTC) whose keys
// follow from their index (benchOkxKeys, so the bench seeds them without passing 10,000 keys around;
// OKX's 60 placements per 2 s per account and instrument apply to each), and GET /bench-stats on the
// same port: requests by path, placements refused 50011, client order ids placed twice.
// Prints one JSON line ({ url, accounts, apiKey, secret, passphrase } — the keys of account 0) when
// listening; serves until SIGTERM.
import { FakeOkxServer } from '../../test/fakes/okx/fake-okx-server';
import { benchOkxKeys } from './okx-keys';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export interface OkxStats {
  placements: number;
  orders: number;
  duplicateClientOrderIds: number;
  /** Placements OKX refused with 50011 (its 60 per 2 s per account and instrument). */
  rateLimited: number;
  /** Every request by `METHOD path`. */
  requests: Record<string, number>;
  /** When the fake accepted its last order (epoch ms, this machine's clock), or null: the placement itself, before the answer's way back and our read of the fill. */
  lastPlacedAt: number | null;
  /** Reads of an order (GET /api/v5/trade/order: read-backs, look-ups) that arrived before the last order was placed. */
  readsBeforeLastPlacement: number;
  /** TCP connections the fake accepted (a client that keeps its connections alive opens about as many as it has calls in flight). */
  connections: number;
}

async function main(): Promise<void> {
  const okx = await new FakeOkxServer().start();
  okx.latencyMs = Number(arg('latency', '50'));
  const count = Math.max(1, Number(arg('accounts', '1')));
  const usdt = arg('usdt', '1000000000');
  const accounts = Array.from({ length: count }, (_, i) => okx.addAccount({ ...benchOkxKeys(i), balances: { USDT: usdt, BTC: '1000000' } }));
  const account = accounts[0];
  // The bench asks for stats on the fake's own port: the fake answers unknown paths itself, so intercept first.
  const server = (okx as unknown as { server: import('node:http').Server }).server;
  const [handler] = server.listeners('request') as Array<(...a: unknown[]) => void>;
  let connections = 0;
  server.on('connection', () => (connections += 1));
  server.removeAllListeners('request');
  server.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    if (req.url !== '/bench-stats') return handler(req, res);
    const ids = new Map<string, number>();
    let lastPlacedAt: number | null = null;
    for (const a of accounts) {
      for (const o of a.orders.values()) {
        ids.set(o.clOrdId, (ids.get(o.clOrdId) ?? 0) + 1);
        lastPlacedAt = Math.max(lastPlacedAt ?? 0, o.cTime);
      }
    }
    const requests: Record<string, number> = {};
    for (const r of okx.requests) requests[`${r.method} ${r.path}`] = (requests[`${r.method} ${r.path}`] ?? 0) + 1;
    const stats: OkxStats = {
      placements: requests['POST /api/v5/trade/order'] ?? 0,
      orders: accounts.reduce((n, a) => n + a.orders.size, 0),
      duplicateClientOrderIds: [...ids.values()].filter((n) => n > 1).length,
      rateLimited: okx.rateLimited,
      requests,
      lastPlacedAt,
      readsBeforeLastPlacement: okx.requests.filter((r) => r.method === 'GET' && r.path === '/api/v5/trade/order' && r.at <= (lastPlacedAt ?? 0)).length,
      connections,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
  });
  process.stdout.write(`${JSON.stringify({ url: okx.url, accounts: count, apiKey: account.apiKey, secret: account.secret, passphrase: account.passphrase })}\n`);
  process.on('SIGTERM', () => void okx.stop().finally(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
