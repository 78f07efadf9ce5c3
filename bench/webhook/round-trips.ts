// Counts PostgreSQL round trips per webhook request: sends alerts one at a time to the real api
// (in this process) and counts every pg Client#query call the api's pool makes meanwhile.
// Run: npx ts-node -r tsconfig-paths/register bench/webhook/round-trips.ts [--n 20]
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Counter {
  n: number;
  texts: string[];
}

/** Patches the prototype once: every query of every pg client (the api's pool included) counts. */
function countQueries(): Counter {
  const counter: Counter = { n: 0, texts: [] };
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function patched(this: Client, ...args: unknown[]): unknown {
    counter.n += 1;
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text ?? '';
    counter.texts.push(text.replace(/\s+/g, ' ').trim().slice(0, 90));
    return original.apply(this, args);
  };
  return counter;
}

// Named before test/support/database.ts loads it, so the template this run migrates can be dropped at the end.
const RUN = `benchrt${Math.floor(Date.now() / 1000).toString(36)}${randomBytes(3).toString('hex')}`;
process.env.TORGOVO_TEST_RUN = RUN;

async function dropRunDatabases(): Promise<void> {
  const admin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`torgovo\\_%\\_${RUN}%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function main(): Promise<void> {
  const n = Math.min(Number(arg('n', '20')), 1000);
  const counter = countQueries();
  // Loaded here, after TORGOVO_TEST_RUN is set (static imports would run first).
  const { createTestApp } = await import('../../test/support/app');
  const { createBot, generateWebhook, subscribe } = await import('../../test/custom-bots/support');
  const t = await createTestApp({ LOG_LEVEL: 'warn', WEBHOOK_RATE_LIMIT_PER_IP: '0' });
  try {
    const user = await t.register();
    await subscribe(t, user, 'free');
    const bot = await createBot(t, user, { symbol: 'BTC/USDT', sizing: { type: 'base', value: '0.001' } });
    const hook = await generateWebhook(t, user, bot.body.id as string, { rate_limit_per_minute: 100_000 });
    const url = `${t.url}/api/custom-bot/webhook/receive/${hook.webhook_secret}`;
    const send = (alertId: string, extra: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', price: '65000.5', alert_id: alertId, ...extra }),
      });

    await send('warm-up'); // first request: prepared caches, lazy paths
    const measure = async (label: string, alertId: (i: number) => string, expect: number, extra: Record<string, string> = {}): Promise<void> => {
      counter.n = 0;
      counter.texts = [];
      for (let i = 0; i < n; i++) {
        const res = await send(alertId(i), extra);
        if (res.status !== expect) throw new Error(`${label}: ${res.status} ${await res.text()}`);
      }
      console.log(`${label}: ${(counter.n / n).toFixed(2)} round trips per request`);
      console.log(counter.texts.slice(0, counter.n / n).map((s) => `    ${s}`).join('\n'));
    };
    await measure('accepted (new alert_id)', (i) => `a-${i}`, 202);
    await measure('duplicate (same alert_id)', () => 'a-0', 200);
    // Sized from the paper balance: the path that reads inside a transaction (close/exit reads the position the same way, plus a bot lock).
    await measure('accepted, percent of balance', (i) => `p-${i}`, 202, { quantity: '1%' });
  } finally {
    await t.close();
    await dropRunDatabases();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
