import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * plan_stripe_prices: every Stripe price a plan has sold, with its cycle, never deleted. A plan's
 * price columns only name the price new checkouts use; a Stripe subscription keeps billing the
 * price it was created with, and its renewals were refunded once the column moved on. Backfilled
 * from the current columns and from the plan audit rows (every price id an admin ever wrote: the
 * replaced ones, whose subscribers still pay them). Should two plans (or both cycles
 * of one) name the same price today, the oldest plan's monthly wins: it is one plan's from now on.
 */
export class PlanStripePrices1766500000520 implements MigrationInterface {
  name = 'PlanStripePrices1766500000520';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE plan_stripe_prices (
        price_id varchar(255) PRIMARY KEY,
        plan_id uuid NOT NULL REFERENCES subscription_plans(id),
        billing_cycle varchar(8) NOT NULL CHECK (billing_cycle IN ('monthly', 'yearly')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX plan_stripe_prices_plan_id_idx ON plan_stripe_prices (plan_id)`);
    await q.query(`
      INSERT INTO plan_stripe_prices (price_id, plan_id, billing_cycle)
      SELECT DISTINCT ON (price_id) price_id, plan_id, billing_cycle
        FROM (
          SELECT stripe_monthly_price_id AS price_id, id AS plan_id, 'monthly' AS billing_cycle, created_at, 0 AS nth FROM subscription_plans WHERE stripe_monthly_price_id IS NOT NULL
          UNION ALL
          SELECT stripe_yearly_price_id, id, 'yearly', created_at, 1 FROM subscription_plans WHERE stripe_yearly_price_id IS NOT NULL
          UNION ALL
          -- Prices an admin replaced before this table existed: PlansService audited every create
          -- (data.fields) and edit (data.changes) with the values it wrote; their subscribers still pay them.
          SELECT h.price_id, p.id, h.billing_cycle, a.created_at, h.nth
            FROM audit_logs a
            JOIN subscription_plans p ON p.id::text = a.data->>'plan_id'
            CROSS JOIN LATERAL (VALUES
              (coalesce(a.data->'fields', a.data->'changes')->>'stripe_monthly_price_id', 'monthly', 0),
              (coalesce(a.data->'fields', a.data->'changes')->>'stripe_yearly_price_id', 'yearly', 1)
            ) AS h(price_id, billing_cycle, nth)
           WHERE a.event_type IN ('plan.created', 'plan.updated') AND h.price_id IS NOT NULL AND h.price_id <> ''
        ) used
       ORDER BY price_id, created_at, plan_id, nth`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE plan_stripe_prices`);
  }
}
