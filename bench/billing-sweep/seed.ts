import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

export interface SeedOptions {
  planId: string;
  /** How far in the past end_date is (default one hour: due now, no grace). */
  endedAgoSeconds?: number;
  status?: 'active' | 'trial' | 'past_due';
  paymentMethod?: 'crypto' | 'stripe' | 'none';
  autoRenew?: boolean;
}

/**
 * n users, each with one due custom_bot subscription, in two set-wise statements
 * (fixtures for the scheduler tests and the benchmark).
 */
export async function seedDueSubscriptions(ds: DataSource, n: number, o: SeedOptions): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  await ds.query(
    `WITH u AS (
       INSERT INTO users (email, password_hash, full_name)
       SELECT 'due-' || $2 || '-' || g || '@example.com', 'x', 'Due ' || g FROM generate_series(1, $1::int) g
       RETURNING id
     )
     INSERT INTO user_subscriptions
       (user_id, plan_id, plan_type, status, billing_cycle, payment_method, auto_renew, start_date, end_date, period_anchor)
     SELECT u.id, $3, 'custom_bot', $4, 'monthly', $5, $6,
            now() - interval '31 days', now() - make_interval(secs => $7), now() - interval '31 days'
     FROM u`,
    [n, tag, o.planId, o.status ?? 'active', o.paymentMethod ?? 'crypto', o.autoRenew ?? false, o.endedAgoSeconds ?? 3600],
  );
}
