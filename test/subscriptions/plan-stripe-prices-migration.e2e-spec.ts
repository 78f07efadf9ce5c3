import { PlanStripePrices1766500000520 } from '../../migrations/1766500000520-PlanStripePrices';
import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * plan_stripe_prices is backfilled from the plans' current price columns and the plan audit rows
 * (prices replaced before the table existed): a deployment whose plans already sell by card keeps
 * recognising its subscribers' prices from the first webhook on.
 */
describe('plan_stripe_prices migration (real PostgreSQL)', () => {
  let db: TestDatabase;
  const migration = new PlanStripePrices1766500000520();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("backfills every plan's current monthly and yearly price; a price two plans name goes to the oldest plan, once", async () => {
    const qr = db.dataSource.createQueryRunner();
    try {
      await qr.startTransaction();
      await migration.down(qr);
      await qr.query(`UPDATE subscription_plans SET stripe_monthly_price_id = 'price_p_m', stripe_yearly_price_id = 'price_p_y', created_at = now() - interval '2 days' WHERE code = 'pro'`);
      await qr.query(`UPDATE subscription_plans SET stripe_monthly_price_id = 'price_e_m', stripe_yearly_price_id = 'price_p_m', created_at = now() - interval '1 day' WHERE code = 'enterprise'`);
      // Replaced before the table existed: pro sold price_p_old monthly; the audit row of that edit is all that names it.
      await qr.query(
        `INSERT INTO audit_logs (event_type, data, created_at)
         SELECT 'plan.updated', jsonb_build_object('plan_id', id, 'code', code, 'changes', jsonb_build_object('stripe_monthly_price_id', 'price_p_old')), now() - interval '1 day'
           FROM subscription_plans WHERE code = 'pro'`,
      );
      await migration.up(qr);
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    const rows = (await db.dataSource.query(
      `SELECT s.price_id, p.code, s.billing_cycle FROM plan_stripe_prices s JOIN subscription_plans p ON p.id = s.plan_id ORDER BY s.price_id`,
    )) as Array<{ price_id: string; code: string; billing_cycle: string }>;
    expect(rows).toEqual([
      { price_id: 'price_e_m', code: 'enterprise', billing_cycle: 'monthly' },
      { price_id: 'price_p_m', code: 'pro', billing_cycle: 'monthly' },
      { price_id: 'price_p_old', code: 'pro', billing_cycle: 'monthly' },
      { price_id: 'price_p_y', code: 'pro', billing_cycle: 'yearly' },
    ]);
  });
});
