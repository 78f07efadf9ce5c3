// Proof under faults (issue 17): two api and two worker processes from the build on one real
// PostgreSQL database of this run's own, the fake OKX and the fake Stripe as processes of their own,
// and a driver sending TradingView alerts (each re-sent 1–4 times), Stripe events (each delivered
// 1–3 times, shuffled) and user actions (stop/start bots, rotate webhook secrets, disconnect and
// reconnect keys, cancel subscriptions), while api and worker processes are killed -9 and
// restarted, the fake OKX drops answers after executing, times out and answers 429/5xx in bursts,
// and PostgreSQL connections are terminated. Then the reconciliation (reconcile.ts) from the fake
// exchange's own record and the database; any violation is printed with its ids and fails the run.
//
// Needs `npm run build` first. Run:
//   npx ts-node -T -r tsconfig-paths/register bench/chaos/run.ts [--seconds 60] [--alerts 600] [--users 8] [--kill-every 4]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import Stripe from 'stripe';
import type { ExchangeRecordRow, FakeReady } from './fake-process';
import { freePort, sleep, Slot, spawnFake } from './processes';
import { reconcile, RunRecord } from './reconcile';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg('seconds', 60);
const ALERTS = arg('alerts', 600);
const USERS = arg('users', 8);
const KILL_EVERY_S = arg('kill-every', 4);
const DRAIN_S = arg('drain', 240);
/** Requests in flight at most (a TradingView-like sender is not an unbounded flood; a loaded machine drowns in one). */
const MAX_IN_FLIGHT = arg('max-in-flight', 48);
const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RUN = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const DB_NAME = `torgovo_chaos_${RUN}`;
const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);

interface Res {
  status: number;
  body: Record<string, unknown>;
}

interface BotState {
  id: string;
  userIndex: number;
  secret: string;
  order_type: 'market' | 'limit';
}

interface UserState {
  id: string;
  email: string;
  token: string;
  okx: { api_key: string; secret: string; passphrase: string };
  subscription_id: string;
  stripe_subscription_id: string;
  bots: BotState[];
  /** One user action at a time per user (a person does one thing at a time). */
  busy: boolean;
  cancelled: boolean;
  disconnected: boolean;
}

async function main(): Promise<void> {
  const dir = join(tmpdir(), `torgovo-chaos-${RUN}`);
  mkdirSync(dir, { recursive: true });
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`);
  const record: RunRecord = { alerts: [], stops: [], disconnects: [], cancels: [], stripe: { invoices: [], events: [] }, counts: {} };
  const count = (k: string, n = 1) => (record.counts[k] = (record.counts[k] ?? 0) + n);
  const slots: Slot[] = [];
  const fakes: Array<{ child: { kill(signal?: NodeJS.Signals): boolean } }> = [];
  let db: Client | undefined;
  let exitCode: number;
  try {
    // ---- the fakes and the build ----------------------------------------------------------------
    const stripeKey = `sk_test_${randomBytes(12).toString('hex')}`;
    const webhookSecret = `whsec_${randomBytes(18).toString('hex')}`;
    const okx = await spawnFake<FakeReady>(['okx'], join(dir, 'fake-okx.log'));
    const stripe = await spawnFake<FakeReady>(['stripe', stripeKey], join(dir, 'fake-stripe.log'));
    fakes.push(okx, stripe);
    const control = async <T>(fake: FakeReady, method: string, path: string, body?: unknown): Promise<T> => {
      for (let attempt = 0; ; attempt += 1) {
        let res: Response;
        try {
          res = await fetch(fake.control + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
        } catch (error) {
          // A kept-alive socket the fake's server closed meanwhile: ask again.
          if (attempt < 3) continue;
          throw error;
        }
        const json = (await res.json()) as T & { error?: string };
        if (res.status !== 200) throw new Error(`${path}: ${json.error}`);
        return json;
      }
    };
    const jwtSecret = randomBytes(36).toString('base64');
    const encryptionKey = randomBytes(32).toString('base64');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '8',
      JWT_SECRET: jwtSecret,
      ENCRYPTION_KEY: encryptionKey,
      LOG_LEVEL: 'info',
      PUBLIC_URL: 'http://127.0.0.1',
      OKX_API_URL: okx.ready.url,
      STRIPE_SECRET_KEY: stripeKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_URL: stripe.ready.url,
      STRIPE_SUCCESS_URL: 'https://app.torgovo.test/billing/success?session_id={CHECKOUT_SESSION_ID}',
      STRIPE_CANCEL_URL: 'https://app.torgovo.test/billing/cancel',
      AUTH_THROTTLE_LIMIT: '100000',
      WEBHOOK_RATE_LIMIT_PER_IP: '0',
      WEBHOOK_RATE_LIMIT_PER_USER: '0',
      TRADING_LEASE_MS: '15000',
      TRADING_BACKOFF_BASE_MS: '200',
      TRADING_BACKOFF_MAX_MS: '3000',
      TRADING_POLL_MS: '200',
      TRADING_SHUTDOWN_GRACE_MS: '2000',
      BILLING_SWEEP_INTERVAL_SECONDS: '0',
    };
    for (const i of [1, 2]) slots.push(new Slot(`api-${i}`, 'api', { ...env, WORKER_ENABLED: 'false' }, await freePort(), dir));
    for (const i of [1, 2]) slots.push(new Slot(`worker-${i}`, 'worker', env, null, dir));
    // The first api migrates; the others start on the migrated database.
    slots[0].start();
    await slots[0].ready();
    for (const s of slots.slice(1)) s.start();
    await Promise.all(slots.map((s) => s.ready()));
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const apis = slots.filter((s) => s.kind === 'api');

    let inFlight = 0;
    const waiting: Array<() => void> = [];
    /** Alerts go through this: at most MAX_IN_FLIGHT at once (user actions and Stripe deliveries do not queue behind them). */
    async function limited(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Res> {
      if (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight += 1;
      try {
        return await api(method, path, opts);
      } finally {
        inFlight -= 1;
        waiting.shift()?.();
      }
    }

    /** Any api that is up; a request cut by a kill is tried on another one (as a client retries). */
    async function api(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Res> {
      let lastError: unknown;
      for (let attempt = 0; attempt < 40; attempt += 1) {
        const up = apis.filter((s) => s.up);
        const target = up.length > 0 ? pick(up) : pick(apis);
        const headers: Record<string, string> = { ...(opts.headers ?? {}) };
        if (opts.token) headers.authorization = `Bearer ${opts.token}`;
        let payload = opts.raw;
        if (opts.body !== undefined) {
          payload = JSON.stringify(opts.body);
          headers['content-type'] ??= 'application/json';
        }
        try {
          const res = await fetch(target.url! + path, { method, headers, body: payload, signal: AbortSignal.timeout(30_000) });
          const text = await res.text();
          let body: Record<string, unknown> = {};
          try {
            body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            body = { raw: text };
          }
          return { status: res.status, body };
        } catch (error) {
          lastError = error;
          count('http.connection_errors');
          await sleep(Math.min(200 + attempt * 100, 1000));
        }
      }
      throw new Error(`${method} ${path}: ${(lastError as Error)?.message}`);
    }
    const must = async (method: string, path: string, expected: number, opts: Parameters<typeof api>[2] = {}): Promise<Res> => {
      const res = await api(method, path, opts);
      if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res;
    };

    // ---- Stripe: events delivered 1–3 times, shuffled, until one is answered 2xx -----------------
    const signer = new Stripe('sk_test_signer_only');
    const deliveries: Array<Promise<void>> = [];
    function deliverAll(events: Array<Record<string, unknown>>): void {
      const copies = shuffle(events.flatMap((e) => Array.from({ length: 1 + rand(3) }, () => e)));
      for (const e of events) record.stripe.events.push(String(e.id));
      for (const event of copies) {
        deliveries.push(
          (async () => {
            await sleep(between(0, 3000));
            const payload = JSON.stringify(event);
            for (let attempt = 0; ; attempt += 1) {
              const signature = signer.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
              const res = await api('POST', '/api/payments/webhook', { raw: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } }).catch(() => null);
              count('stripe.deliveries');
              if (res && res.status < 300) return;
              count('stripe.delivery_retries');
              // Stripe retries with backoff; so does the driver, until the run's end.
              await sleep(Math.min(500 * 2 ** attempt, 5000));
            }
          })(),
        );
      }
    }

    // ---- setup: users who paid Pro by card, connected keys, a market and a limit bot each --------
    await control(stripe.ready, 'POST', '/prices', { prices: [['price_pro_monthly', 2900, 'month']] });
    await db.query(`UPDATE subscription_plans SET stripe_monthly_price_id = 'price_pro_monthly' WHERE code = 'pro'`);
    // What PATCH /subscription-plans/{id} records beside the column (the webhooks recognise the price by it).
    await db.query(`INSERT INTO plan_stripe_prices (price_id, plan_id, billing_cycle) SELECT 'price_pro_monthly', id, 'monthly' FROM subscription_plans WHERE code = 'pro' ON CONFLICT DO NOTHING`);
    const proPlan = ((await db.query(`SELECT id FROM subscription_plans WHERE code = 'pro'`)).rows as Array<{ id: string }>)[0].id;
    const accounts = await control<Array<UserState['okx']>>(okx.ready, 'POST', '/accounts', { n: USERS });
    const users: UserState[] = [];
    for (let i = 0; i < USERS; i += 1) {
      const email = `chaos-${RUN}-${i}@example.com`;
      const reg = await must('POST', '/api/auth/register', 201, { body: { email, password: `pw-${RUN}-${i}-long`, full_name: `Chaos ${i}` } });
      const token = String(reg.body.access_token);
      const checkout = await must('POST', '/api/payments/create-checkout', 201, { token, body: { plan_id: proPlan, billing_cycle: 'monthly' } });
      const paid = await control<{ subscription_id: string; invoice_id: string; events: Array<Record<string, unknown>> }>(stripe.ready, 'POST', '/complete', { session_id: checkout.body.session_id });
      record.stripe.invoices.push(paid.invoice_id);
      deliverAll(paid.events);
      users.push({
        id: String((reg.body.user as { id: string }).id),
        email,
        token,
        okx: accounts[i],
        subscription_id: String(checkout.body.subscription_id),
        stripe_subscription_id: paid.subscription_id,
        bots: [],
        busy: false,
        cancelled: false,
        disconnected: false,
      });
    }
    await Promise.all(deliveries.splice(0));
    for (const [i, u] of users.entries()) {
      const okxBody = { exchange: 'okx', api_key: u.okx.api_key, secret: u.okx.secret, passphrase: u.okx.passphrase, sandbox: false };
      await must('POST', '/api/users/me/exchange', 200, { token: u.token, body: okxBody });
      for (const order_type of ['market', 'limit'] as const) {
        const bot = await must('POST', '/api/bots', 201, {
          token: u.token,
          body: { name: `${order_type} ${i}`, symbol: 'BTC/USDT', mode: 'live', order_type, sizing: { type: 'base', value: '0.001' } },
        });
        const hook = await must('POST', '/api/custom-bot/webhook/generate', 201, { token: u.token, body: { bot_id: bot.body.id, rate_limit_per_minute: 100_000 } });
        u.bots.push({ id: String(bot.body.id), userIndex: i, secret: String(hook.body.webhook_secret), order_type });
      }
    }
    const allBots = users.flatMap((u) => u.bots);
    console.log(JSON.stringify({ phase: 'setup done', users: USERS, bots: allBots.length, dir, load: loadavg().slice(0, 2) }));

    // ---- the load and the faults -----------------------------------------------------------------
    const started = Date.now();
    const until = started + SECONDS * 1000;
    const live = () => Date.now() < until;
    const inflight = new Set<Promise<unknown>>();
    /** A driver task: its failure (every api down for long, a fake refusing) is counted, never fatal to the run. */
    const track = (p: Promise<unknown>) => {
      const settled = p.catch((error: unknown) => {
        count('driver.task_errors');
        console.log(JSON.stringify({ driver_task_error: (error as Error)?.message }));
      });
      inflight.add(settled);
      void settled.finally(() => inflight.delete(settled));
    };

    const stopLatencies: number[] = [];
    let alertSeq = 0;
    async function alertOnce(): Promise<void> {
      const bot = pick(allBots);
      const n = (alertSeq += 1);
      const alertId = `c${RUN}-${n}`;
      const body = JSON.stringify({
        ticker: 'BTCUSDT',
        action: 'buy',
        quantity: '0.001',
        alert_id: alertId,
        ...(bot.order_type === 'limit' ? { price: '30000' } : {}),
      });
      const entry: RunRecord['alerts'][number] = { alert_id: alertId, bot_id: bot.id, answers: [] };
      record.alerts.push(entry);
      const sends = 1 + 1 + rand(4); // the alert and 1–4 re-sends
      await Promise.all(
        Array.from({ length: sends }, async (_, k) => {
          if (k > 0) await sleep(rand(2) === 0 ? rand(50) : between(200, 4000));
          const res = await limited('POST', `/api/custom-bot/webhook/receive/${bot.secret}`, { raw: body, headers: { 'content-type': 'text/plain' } }).catch(() => null);
          count('alerts.sends');
          if (!res) return entry.answers.push({ status: 0, order_id: null, error: 'connection' });
          const error = typeof res.body.code === 'string' ? res.body.code : null;
          entry.answers.push({ status: res.status, order_id: (res.body.order_id as string | undefined) ?? null, error });
        }),
      );
    }

    async function userAction(): Promise<void> {
      const u = pick(users.filter((x) => !x.busy && !x.cancelled));
      if (!u) return;
      u.busy = true;
      try {
        const r = Math.random();
        if (r < 0.55) {
          // stop a bot, then start it again a little later
          const bot = pick(u.bots);
          const sent = Date.now();
          const stop = await api('POST', `/api/bots/${bot.id}/stop`, { token: u.token });
          const answered = Date.now();
          count('actions.stop');
          stopLatencies.push(answered - sent);
          await sleep(between(300, 3000));
          const startSent = Date.now();
          const start = await api('POST', `/api/bots/${bot.id}/start`, { token: u.token });
          record.stops.push({ bot_id: bot.id, stop_status: stop.status, answered_at: answered, start_sent_at: startSent, start_status: start.status });
          count(`actions.stop_answer.${stop.status}`);
          count(`actions.start_answer.${start.status}`);
        } else if (r < 0.8) {
          // rotate a webhook secret: the old one stops working
          const bot = pick(u.bots);
          const hooks = await api('GET', '/api/custom-bot/webhooks', { token: u.token });
          const items = (Array.isArray(hooks.body) ? hooks.body : ((hooks.body.items as unknown[]) ?? [])) as Array<{ id: string; bot_id: string; is_active?: boolean }>;
          const hook = items.find((h) => h.bot_id === bot.id && h.is_active !== false);
          if (!hook) return;
          const rotated = await api('POST', `/api/custom-bot/webhooks/${hook.id}/rotate`, { token: u.token });
          count('actions.rotate');
          if (rotated.status < 300) bot.secret = String(rotated.body.webhook_secret);
        } else if (r < 0.97 || u.cancelled) {
          // disconnect the keys, reconnect them, start the live bots the disconnect stopped
          const off = await api('DELETE', '/api/users/me/exchange', { token: u.token });
          const answered = Date.now();
          u.disconnected = true;
          count('actions.disconnect');
          await sleep(between(300, 2500));
          const reconnectSent = Date.now();
          const okxBody = { exchange: 'okx', api_key: u.okx.api_key, secret: u.okx.secret, passphrase: u.okx.passphrase, sandbox: false };
          const on = await api('POST', '/api/users/me/exchange', { token: u.token, body: okxBody });
          u.disconnected = false;
          record.disconnects.push({ user_id: u.id, status: off.status, answered_at: answered, reconnect_sent_at: reconnectSent, reconnect_status: on.status });
          for (const bot of u.bots) await api('POST', `/api/bots/${bot.id}/start`, { token: u.token });
        } else {
          // cancel the subscription now: the bots stop for good (once per user, a few users per run)
          const res = await api('DELETE', `/api/subscriptions/${u.subscription_id}`, { token: u.token });
          record.cancels.push({ user_id: u.id, status: res.status, answered_at: Date.now() });
          count('actions.cancel_subscription');
          if (res.status === 200) u.cancelled = true;
        }
      } finally {
        u.busy = false;
      }
    }

    async function renewal(): Promise<void> {
      const u = pick(users.filter((x) => !x.cancelled));
      if (!u) return;
      const paid = await control<{ invoice_id: string; events: Array<Record<string, unknown>> }>(stripe.ready, 'POST', '/renew', { subscription_id: u.stripe_subscription_id }).catch(() => null);
      if (!paid) return;
      count('stripe.renewals');
      record.stripe.invoices.push(paid.invoice_id);
      deliverAll(paid.events);
    }

    let terminated = 0;
    async function faults(): Promise<void> {
      await control(okx.ready, 'POST', '/chaos', { drop: 0.04, hang_after: 0.01, hang_before: 0.01, hang_ms: 11_000 });
      let nextKill = Date.now() + KILL_EVERY_S * 1000;
      let nextTerminate = Date.now() + 3000;
      let nextBurst = Date.now() + 2000;
      while (live()) {
        const now = Date.now();
        if (now >= nextKill) {
          nextKill = now + between(0.5, 1.5) * KILL_EVERY_S * 1000;
          // Any api or worker, but never the last api answering: replicas behind a load balancer
          // (the driver sends to the ones up), as in production; a restarting api boots for seconds.
          const apisUp = slots.filter((s) => s.kind === 'api' && s.up).length;
          const victim = pick(slots.filter((s) => s.up && (s.kind === 'worker' || apisUp > 1)));
          if (victim) {
            victim.kill9();
            count(`faults.kill.${victim.kind}`);
            track(
              (async () => {
                await sleep(between(300, 2000));
                victim.start();
                await victim.ready().catch(() => victim.start());
              })(),
            );
          }
        }
        if (now >= nextTerminate) {
          nextTerminate = now + between(2000, 6000);
          const r = await db!.query(
            `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY random() LIMIT 2`,
            [DB_NAME],
          );
          terminated += r.rows.filter((x: { done: boolean }) => x.done).length;
        }
        if (now >= nextBurst) {
          nextBurst = now + between(3000, 8000);
          const kind = pick(['rate_limit', 'server_error'] as const);
          await control(okx.ready, 'POST', '/burst', { kind, times: 3 + rand(8), path: rand(2) === 0 ? '/api/v5/trade/order' : undefined, status: pick([500, 502, 503]) });
          count(`faults.okx_burst.${kind}`);
        }
        await sleep(100);
      }
    }

    const loops: Array<Promise<void>> = [faults()];
    const perAlertMs = (SECONDS * 1000) / ALERTS;
    loops.push(
      (async () => {
        for (let i = 0; i < ALERTS && live(); i += 1) {
          // The machine cannot take more: the offered rate drops (counted) instead of the run drowning.
          while (waiting.length > MAX_IN_FLIGHT * 4 && live()) {
            count('alerts.deferred_by_backpressure');
            await sleep(100);
          }
          track(alertOnce());
          const due = started + (i + 1) * perAlertMs;
          if (due > Date.now()) await sleep(due - Date.now());
        }
      })(),
    );
    loops.push(
      (async () => {
        while (live()) {
          track(userAction());
          await sleep(between(150, 400));
        }
      })(),
    );
    loops.push(
      (async () => {
        while (live()) {
          track(renewal());
          await sleep(between(1500, 4000));
        }
      })(),
    );
    await Promise.all(loops);
    console.log(JSON.stringify({ phase: 'load done', alerts: record.alerts.length, load: loadavg().slice(0, 2) }));

    // ---- drain: faults off, every process up, every delivery made, every order settled ------------
    await control(okx.ready, 'POST', '/calm');
    while (inflight.size > 0) await Promise.race([...inflight, sleep(1000)]);
    for (const s of slots) if (!s.running) s.start();
    await Promise.all(slots.map((s) => s.ready()));
    await Promise.all(deliveries);
    const drainUntil = Date.now() + DRAIN_S * 1000;
    for (;;) {
      const r = await db.query(
        `SELECT count(*) FILTER (WHERE status IN ('pending', 'submitting'))::int AS unsettled,
                count(*) FILTER (WHERE status = 'open' AND type = 'market')::int AS market_open
           FROM orders`,
      );
      const { unsettled, market_open } = r.rows[0] as { unsettled: number; market_open: number };
      if (unsettled === 0 && market_open === 0) break;
      if (Date.now() > drainUntil) {
        console.log(JSON.stringify({ phase: 'drain timed out', unsettled, market_open }));
        break;
      }
      await sleep(1000);
    }

    // ---- the reconciliation ----------------------------------------------------------------------
    const exchange = await control<ExchangeRecordRow[]>(okx.ready, 'GET', '/record');
    const stripeRecord = await control<{ paid_invoices: Array<{ id: string }>; refunded_invoices: string[] }>(stripe.ready, 'GET', '/record');
    record.counts['faults.pg_terminated'] = terminated;
    record.counts['faults.kills'] = slots.reduce((n, s) => n + s.kills, 0);
    const sorted = [...stopLatencies].sort((a, b) => a - b);
    record.counts['actions.stop_ms_p50'] = sorted[Math.floor(sorted.length / 2)] ?? 0;
    record.counts['actions.stop_ms_max'] = sorted.at(-1) ?? 0;
    const secrets = [jwtSecret, encryptionKey, stripeKey, webhookSecret, ...users.flatMap((u) => [u.okx.secret, u.okx.passphrase, ...u.bots.map((b) => b.secret)])];
    const logs = readdirSync(dir).map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
    const result = await reconcile(db, record, exchange, stripeRecord.paid_invoices.map((i) => String(i.id)), stripeRecord.refunded_invoices, users.map((u) => ({ id: u.id, api_key: u.okx.api_key })), secrets, logs);
    const summary = {
      seconds: SECONDS,
      load_at_end: loadavg().slice(0, 3).map((x) => Number(x.toFixed(2))),
      counts: { ...record.counts, ...result.counts },
      violations: result.violations.length,
    };
    console.log(JSON.stringify(summary, null, 2));
    for (const v of result.violations.slice(0, 200)) console.log(`VIOLATION ${v.kind}: ${v.detail}`);
    if (result.violations.length > 200) console.log(`… and ${result.violations.length - 200} more`);
    exitCode = result.violations.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(slots.map((s) => s.stop()));
    for (const f of fakes) f.child.kill('SIGTERM');
    await db?.end().catch(() => undefined);
    if (process.env.CHAOS_KEEP_DB !== '1') await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  process.exit(exitCode);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
