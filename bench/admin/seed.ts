import type { QueryRunner } from 'typeorm';

/** One connection: the session settings below (synchronous_commit, session_replication_role) hold on it. */
type Db = Pick<QueryRunner, 'query'>;

export const SYMBOLS = [
  'BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT', 'ADA/USDT', 'DOGE/USDT', 'BNB/USDT', 'TRX/USDT', 'LTC/USDT', 'DOT/USDT',
  'AVAX/USDT', 'LINK/USDT', 'ETH/BTC', 'SOL/BTC', 'BTC/USDC', 'ETH/USDC', 'OP/USDT', 'ARB/USDT', 'TON/USDT', 'NEAR/USDT',
];

/**
 * Users over the last year with their audit rows (register + 4 more each), one custom-bot
 * subscription each (60 % free, 30 % pro, 10 % enterprise; mixed statuses and cycles), three
 * completed payments per paid user, half a bot per user. All set-wise (INSERT … SELECT generate_series).
 */
export async function seedAccounts(ds: Db, users: number): Promise<void> {
  await ds.query(
    `INSERT INTO users (email, password_hash, full_name, is_active, created_at)
     SELECT 'bench-' || g || '@example.com', 'x', 'Bench ' || g, g % 20 <> 0,
            now() - make_interval(days => g % 365, secs => (g * 37) % 86400)
       FROM generate_series(1, $1::int) g`,
    [users],
  );
  await ds.query(`CREATE TABLE bench_users AS SELECT row_number() OVER (ORDER BY created_at) AS n, id, created_at FROM users`);
  await ds.query(`CREATE UNIQUE INDEX ON bench_users (n)`);
  await ds.query(
    `INSERT INTO audit_logs (event_type, user_id, actor_id, data, ip, user_agent, created_at)
     SELECT (ARRAY['auth.register', 'auth.login', 'auth.login', 'auth.refresh', 'exchange.connected'])[k], u.id, u.id, '{}'::jsonb, '10.0.0.1', 'bench',
            u.created_at + make_interval(hours => (k - 1) * 24)
       FROM bench_users u CROSS JOIN generate_series(1, 5) k`,
  );
  await ds.query(
    `INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor, created_at)
     SELECT u.id, p.id, 'custom_bot',
            CASE WHEN u.n % 10 < 6 THEN 'active' ELSE (ARRAY['active', 'active', 'active', 'trial', 'past_due', 'cancelled', 'expired'])[u.n % 7 + 1] END,
            CASE WHEN u.n % 10 >= 6 AND u.n % 4 = 0 THEN 'yearly' ELSE 'monthly' END,
            CASE WHEN u.n % 10 < 6 THEN 'none' WHEN u.n % 2 = 0 THEN 'stripe' ELSE 'crypto' END,
            true, u.created_at, CASE WHEN u.n % 10 < 6 THEN NULL ELSE now() + interval '10 days' END, u.created_at, u.created_at
       FROM bench_users u
       JOIN subscription_plans p ON p.code = CASE WHEN u.n % 10 < 6 THEN 'free' WHEN u.n % 10 < 9 THEN 'pro' ELSE 'enterprise' END`,
  );
  await ds.query(
    `INSERT INTO payments (user_id, subscription_id, plan_id, kind, provider, status, amount_usd, billing_cycle, created_at, confirmed_at)
     SELECT s.user_id, s.id, s.plan_id, CASE WHEN k = 1 THEN 'subscription' ELSE 'renewal' END,
            CASE WHEN s.payment_method = 'stripe' THEN 'stripe' ELSE 'okx' END,
            CASE WHEN k = 3 AND s.id::text < '1' THEN 'failed' ELSE 'completed' END,
            CASE s.billing_cycle WHEN 'yearly' THEN p.yearly_price ELSE p.monthly_price END, s.billing_cycle,
            s.created_at + make_interval(days => (k - 1) * 30), s.created_at + make_interval(days => (k - 1) * 30, mins => 5)
       FROM user_subscriptions s JOIN subscription_plans p ON p.id = s.plan_id CROSS JOIN generate_series(1, 3) k
      WHERE p.monthly_price > 0`,
  );
  await ds.query(
    `INSERT INTO bots (user_id, name, symbol, mode, exchange, order_type, sizing_type, sizing_value, status, created_at)
     SELECT u.id, 'bot', ($1::text[])[u.n % 20 + 1], CASE WHEN u.n % 4 = 0 THEN 'live' ELSE 'paper' END,
            CASE WHEN u.n % 4 = 0 THEN 'okx' ELSE 'paper' END, 'market', 'quote', 100,
            CASE WHEN u.n % 3 = 0 THEN 'stopped' ELSE 'running' END, u.created_at
       FROM bench_users u WHERE u.n % 2 = 0`,
    [SYMBOLS],
  );
  await ds.query(`CREATE TABLE bench_bots AS SELECT DISTINCT ON (user_id) user_id, id FROM bots ORDER BY user_id, id`);
  await ds.query(`CREATE UNIQUE INDEX ON bench_bots (user_id)`);
}

/**
 * Orders `from`..`to` (1-based numbers) of `total`, spread evenly over the last 365 days, over the
 * users round-robin and over 20 symbols; a quarter live. Orders of a user with a bot are that
 * bot's (half of them: the FIFO PnL rollup has ~5M orders in 50k books to work through). 90 % filled, 4 % canceled (a third partly
 * filled), 4 % rejected, 1 % failed; of the last 1 %, one in ten still pending or open.
 */
export async function seedOrders(ds: Db, from: number, to: number, total: number, users: number): Promise<void> {
  await ds.query(
    `INSERT INTO orders (user_id, bot_id, source, source_ref, mode, exchange, symbol, side, type, amount, price, status, filled, average, cost,
                         client_order_id, reason, attempts, created_at, updated_at, closed_at)
     SELECT u.id, b.id, CASE WHEN b.id IS NULL THEN 'manual' ELSE 'webhook' END, 'b' || g, CASE WHEN g % 4 = 0 THEN 'live' ELSE 'paper' END, CASE WHEN g % 4 = 0 THEN 'okx' ELSE 'paper' END,
            ($4::text[])[g % 20 + 1], CASE WHEN g % 2 = 0 THEN 'buy' ELSE 'sell' END, 'market', 0.01, px, st,
            CASE WHEN st = 'filled' THEN 0.01 WHEN st = 'canceled' AND g % 3 = 0 THEN 0.005 ELSE 0 END,
            CASE WHEN st IN ('filled', 'canceled') THEN px END,
            CASE WHEN st = 'filled' THEN 0.01 * px WHEN st = 'canceled' AND g % 3 = 0 THEN 0.005 * px END,
            'b' || g,
            CASE st WHEN 'canceled' THEN (ARRAY['bot_stopped: the bot was stopped', 'subscription_ended: no plan', 'credential_changed: keys replaced'])[g % 3 + 1]
                    WHEN 'rejected' THEN (ARRAY['rejected_by_exchange: Insufficient balance', 'below_minimum: order too small', 'stale_order: not placed in time'])[g % 3 + 1]
                    WHEN 'failed' THEN 'exchange_unavailable: too many attempts' END,
            1, ts, ts, CASE WHEN st IN ('filled', 'canceled', 'rejected', 'failed') THEN ts + interval '2 seconds' END
       FROM (SELECT g, now() - ($3::bigint - g)::float8 / $3::bigint * interval '365 days' - interval '1 minute' AS ts, 100 + g % 1000 AS px,
                    CASE WHEN g % 100 < 90 THEN 'filled' WHEN g % 100 < 94 THEN 'canceled' WHEN g % 100 < 98 THEN 'rejected' WHEN g % 100 < 99 THEN 'failed'
                         WHEN g % 1000 = 999 THEN 'open' WHEN g % 1000 = 998 THEN 'pending' ELSE 'filled' END AS st
               FROM generate_series($1::bigint, $2::bigint) g) o
       JOIN bench_users u ON u.n = o.g % $5 + 1
       LEFT JOIN bench_bots b ON b.user_id = u.id`,
    [from, to, total, SYMBOLS, users],
  );
}

/**
 * Runs `load` with the orders table bare (a bench-only database): its secondary indexes dropped and
 * built again after, foreign-key checks and triggers off for this session (session_replication_role
 * = replica). Indexes kept up row by row made 10M orders take over 20 minutes. Returns the seconds
 * the index builds took.
 */
export async function withoutOrderIndexes(ds: Db, log: (msg: string) => void, load: () => Promise<void>): Promise<number> {
  const indexes = (await ds.query(
    `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE x.indrelid = 'orders'::regclass AND NOT x.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
  )) as Array<{ name: string; def: string }>;
  for (const { name } of indexes) await ds.query(`DROP INDEX ${name}`);
  await ds.query(`SET session_replication_role = replica`);
  try {
    await load();
  } finally {
    await ds.query(`SET session_replication_role = DEFAULT`);
  }
  const started = Date.now();
  await ds.query(`SET maintenance_work_mem = '1GB'`);
  for (const { name, def } of indexes) {
    const t = Date.now();
    await ds.query(def);
    log(`index ${name}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return (Date.now() - started) / 1000;
}
