// The receive path's own steps, per alert, in-process (no HTTP, no database): what parsing an alert,
// its keys, its order and its share of the batched accept statement cost in CPU. The api's whole CPU
// per alert is measured by bench/webhook/run.ts (~0.5-0.6 ms on the 2-core machines here); this
// bench shows how much of it is this code. Each step runs --rounds times; the fastest round is
// reported (the others lost the core to something else).
// Run: npx ts-node -T -r tsconfig-paths/register bench/webhook/hot-path.ts [--rounds 5] [--batch 50]
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '@torgovo/core';
import { parseTradingViewSignal } from '../../libs/custom-bots/src/tradingview-signal';
import { repeatKey } from '../../libs/custom-bots/src/webhook-repeat';
import { bodyForLog } from '../../libs/custom-bots/src/webhook-event-log';
import { orderSizeOf } from '../../libs/custom-bots/src/signal-sizing';
import { AcceptItem, acceptStatement } from '../../libs/custom-bots/src/webhook-accept-statements';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const rounds = Math.max(1, Number(arg('rounds', '5')));
const batchSize = Math.max(1, Number(arg('batch', '50')));
const secret = 'A'.repeat(43);
// The body bench/webhook and bench/burst send: every alert distinct (its alert_id).
const bodies = Array.from({ length: 1000 }, (_, i) => `{"action":"buy","ticker":"BTCUSDT","price":"65000.5","quantity":"0.0001","alert_id":"bench-${i}"}`);
const buffers = bodies.map((b) => Buffer.from(b));
const signal = parseTradingViewSignal(bodies[0]);

function item(i: number): AcceptItem {
  const eventId = randomUUID();
  return {
    order: { user_id: randomUUID(), bot_id: randomUUID(), source: 'webhook', source_ref: eventId, mode: 'paper', exchange: 'okx', symbol: 'BTC/USDT', type: 'market', side: 'buy', amount: '0.0001', signal_at: new Date(), price: '65000.5' },
    event: { id: eventId, webhook_id: randomUUID(), bot_id: randomUUID(), received_at: new Date(), ip: '127.0.0.1', outcome: 'accepted', status_code: 202, reason: null, message: null, order_id: null, body: bodies[i % 1000], body_bytes: bodies[i % 1000].length },
    claim: { webhookId: randomUUID(), botId: randomUUID(), secretHash: sha256Hex(secret), key: repeatKey('x', bodies[i % 1000], new Date(), 60).key, expiresAt: null },
    versions: { webhook: '1001', bot: '1002', user: '1003', subscription_id: randomUUID(), subscription: '1004', plan: '1005' },
  };
}
const batch = Array.from({ length: batchSize }, (_, i) => item(i));

/** µs per call: the fastest of `rounds` rounds of n calls (after one warm-up round). */
function time(n: number, f: (i: number) => unknown): number {
  let best = Infinity;
  for (let r = 0; r <= rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    const us = Number(process.hrtime.bigint() - t) / n / 1000;
    if (r > 0) best = Math.min(best, us);
  }
  return best;
}

const steps: Array<[string, number]> = [
  ['parseTradingViewSignal (lossless JSON)', time(20_000, (i) => parseTradingViewSignal(bodies[i % 1000]))],
  ['  for scale: JSON.parse of the same body', time(20_000, (i) => JSON.parse(bodies[i % 1000]))],
  ['sha256Hex of the secret (lookup key)', time(20_000, () => sha256Hex(secret))],
  ['repeatKey (SHA-256 of the body)', time(20_000, (i) => repeatKey('x', bodies[i % 1000], new Date(), 60))],
  ['bodyForLog (event row body)', time(20_000, (i) => bodyForLog(buffers[i % 1000], secret))],
  ['orderSizeOf', time(20_000, () => orderSizeOf(signal.intent, signal.quantity, signal.targetPosition, { sizing_type: 'base', sizing_value: '0.0001' }))],
  [`acceptStatement, per alert of a ${batchSize}-alert batch`, time(400, () => acceptStatement(batch, new Date())) / batchSize],
];
console.log(`date ${new Date().toISOString()}; fastest of ${rounds} rounds; µs per alert`);
for (const [name, us] of steps) console.log(`${name.padEnd(48)} ${us.toFixed(2)}`);
console.log(`${'sum (the "for scale" line excluded)'.padEnd(48)} ${steps.filter(([n]) => !n.startsWith('  ')).reduce((s, [, us]) => s + us, 0).toFixed(2)}`);
