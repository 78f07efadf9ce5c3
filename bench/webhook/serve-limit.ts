// Child process of bench/webhook/run.ts: the physical limit — node:http, no framework, no checks,
// one INSERT of a webhook_events row per request — on the database given as argv[2].
// Prints one JSON line ({ "url": … }) when listening; serves until SIGTERM.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Pool } from 'pg';

const pool = new Pool({ connectionString: process.argv[2], max: Number(process.argv[3] ?? '10') });
const INSERT = `INSERT INTO webhook_events (id, webhook_id, bot_id, received_at, ip, outcome, status_code, reason, message, order_id, body, body_bytes)
                VALUES ($1, NULL, NULL, now(), $2, 'accepted', 202, NULL, NULL, NULL, $3, $4)`;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    pool.query(INSERT, [randomUUID(), req.socket.remoteAddress ?? null, body, body.length]).then(
      () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}'),
      () => res.writeHead(500).end(),
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
});
