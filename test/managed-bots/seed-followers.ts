import type { DataSource } from 'typeorm';

export interface SeedOptions {
  mode?: 'paper' | 'live';
  exchange?: string;
  investment?: string;
  /** Distinguishes the e-mails of several seeds in one database. */
  tag?: string;
}

/**
 * `n` users, each with an active managed_basic subscription and an active follow of `botId`, in one
 * statement (the fan-out and the recomputation are what is measured, not 1,000 registrations).
 * Returns the new user ids.
 */
export async function seedFollowers(ds: DataSource, botId: string, n: number, o: SeedOptions = {}): Promise<string[]> {
  const investment = o.investment ?? '1000';
  const rows = (await ds.query(
    `WITH plan AS (SELECT id FROM subscription_plans WHERE code = 'managed_basic'),
     u AS (
       INSERT INTO users (email, password_hash, full_name)
       SELECT 'follower-' || $3 || '-' || i || '@example.test', 'x', 'Follower ' || i FROM generate_series(1, $2::int) i
       RETURNING id
     ), s AS (
       INSERT INTO user_subscriptions (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date)
       SELECT u.id, plan.id, 'managed_bot', 'active', 'monthly', 'crypto', false, now(), now() + interval '30 days' FROM u, plan
       RETURNING user_id
     )
     INSERT INTO managed_bot_follows (user_id, managed_bot_id, mode, exchange, initial_investment, investment, high_water_mark, profit_share_pct, guaranteed_monthly_return, current_balance)
     SELECT user_id, $1, $4, $5, $6, $6, $6, 20, 3, $6 FROM s
     RETURNING user_id`,
    [botId, n, o.tag ?? String(Date.now()), o.mode ?? 'paper', o.exchange ?? (o.mode === 'live' ? 'okx' : 'paper'), investment],
  )) as Array<{ user_id: string }>;
  return rows.map((r) => r.user_id);
}
