// Child process of bench/burst/run.ts: the fake OKX (test/fakes/okx) with `--latency` ms added to
// every answer, one account with ample balances (every bench user's keys are that account's), and
// GET /bench-stats on the same port: placement requests received and client order ids placed twice.
// Prints one JSON line ({ url, apiKey, secret, passphrase }) when listening; serves until SIGTERM.
import { FakeOkxServer } from '../../test/fakes/okx/fake-okx-server';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export interface OkxStats {
  placements: number;
  orders: number;
  duplicateClientOrderIds: number;
}

async function main(): Promise<void> {
  const okx = await new FakeOkxServer().start();
  okx.latencyMs = Number(arg('latency', '50'));
  const account = okx.addAccount({ balances: { USDT: '1000000000', BTC: '1000000' } });
  // The bench asks for stats on the fake's own port: the fake answers unknown paths itself, so intercept first.
  const server = (okx as unknown as { server: import('node:http').Server }).server;
  const [handler] = server.listeners('request') as Array<(...a: unknown[]) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    if (req.url !== '/bench-stats') return handler(req, res);
    const ids = new Map<string, number>();
    for (const o of account.orders.values()) ids.set(o.clOrdId, (ids.get(o.clOrdId) ?? 0) + 1);
    const stats: OkxStats = {
      placements: okx.requests.filter((r) => r.method === 'POST' && r.path === '/api/v5/trade/order').length,
      orders: account.orders.size,
      duplicateClientOrderIds: [...ids.values()].filter((n) => n > 1).length,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
  });
  process.stdout.write(`${JSON.stringify({ url: okx.url, apiKey: account.apiKey, secret: account.secret, passphrase: account.passphrase })}\n`);
  process.on('SIGTERM', () => void okx.stop().finally(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
