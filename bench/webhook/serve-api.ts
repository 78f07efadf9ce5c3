// Child process of the webhook and signal-latency benches: boots the real api (createTestApp: the
// production bootstrap on a fresh clone of the migrated template database), sets up users with a
// free plan, a running paper bot and a webhook each, prints one JSON line, and serves until SIGTERM.
// Not run by hand: bench/webhook/run.ts and bench/signal-latency/run.ts spawn it.
import 'reflect-metadata';
import { createTestApp } from '../../test/support/app';
import { createBot, generateWebhook, subscribe } from '../../test/custom-bots/support';
import { extraEnv } from '../support-api';
import { cloneBotOwners } from '../support-seed';

export interface ServeApiReady {
  url: string;
  databaseUrl: string;
  secrets: string[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const users = Math.min(Number(arg('users', '1')), 200);
  const worker = arg('worker', 'false');
  const pool = arg('pool', '10');
  const t = await createTestApp({
    LOG_LEVEL: 'warn',
    WEBHOOK_RATE_LIMIT_PER_IP: '0',
    WEBHOOK_RATE_LIMIT_PER_USER: '0',
    DATABASE_POOL_SIZE: pool,
    // true: the TradingManager runs embedded in this process with its defaults (TRADING_POLL_MS=250).
    WORKER_ENABLED: worker,
    // Repeatable `--env NAME=value`: extra api configuration (e.g. TRADING_CONCURRENCY) for a variant run.
    ...extraEnv(),
  });
  // `--clones N`: N more users, each a copy of the first (its subscription, running bot and webhook) made in SQL.
  const clones = Math.min(Number(arg('clones', '0')), 100_000);
  const secrets: string[] = [];
  let first: string | null = null;
  for (let i = 0; i < users; i++) {
    const user = await t.register();
    first ??= user.id;
    await subscribe(t, user, 'free');
    const bot = await createBot(t, user, { symbol: 'BTC/USDT', sizing: { type: 'base', value: '0.0001' } });
    if (bot.status !== 201) throw new Error(`bot: ${bot.status} ${bot.text}`);
    const started = await t.request('POST', `/api/bots/${bot.body.id as string}/start`, { token: user.access_token });
    if (started.status >= 300) throw new Error(`start: ${started.status} ${started.text}`);
    const hook = await generateWebhook(t, user, bot.body.id as string, { rate_limit_per_minute: 100_000 });
    secrets.push(hook.webhook_secret);
  }
  if (clones > 0 && first !== null) secrets.push(...(await cloneBotOwners(t.db.dataSource, first, clones)));
  const ready: ServeApiReady = { url: t.url, databaseUrl: t.db.url, secrets };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const stop = (): void => {
    void t.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
