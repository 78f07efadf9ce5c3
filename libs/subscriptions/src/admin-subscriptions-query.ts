import { DataSource, In } from 'typeorm';
import { cappedList, CappedPage, PageQuery, SqlFilter } from '@torgovo/core';
import type { PlanType } from '@torgovo/plans';
import { SubscriptionResponse, toSubscriptionResponse } from './dto/subscription-response';
import { UserSubscription } from './entities/user-subscription.entity';
import type { PaymentMethod, SubscriptionStatus } from './subscription-states';

/** Every user's subscriptions (the admin list); each filter is optional. */
export interface AllSubscriptionsFilter {
  user_id?: string;
  status?: SubscriptionStatus;
  /** Plan code. */
  plan?: string;
  plan_type?: PlanType;
  payment_method?: PaymentMethod;
  from?: Date;
  to?: Date;
}

/**
 * Newest first (user_subscriptions_created_idx, user_subscriptions_user_idx): one statement picks
 * the page's ids, one loads them with their plans, mapped as GET /subscriptions maps them.
 */
export async function listAllSubscriptions(ds: DataSource, f: AllSubscriptionsFilter, q: PageQuery): Promise<CappedPage<SubscriptionResponse>> {
  const filter = new SqlFilter()
    .add(f.user_id, (p) => `s.user_id = ${p}`)
    .add(f.status, (p) => `s.status = ${p}`)
    .add(f.plan, (p) => `s.plan_id = (SELECT id FROM subscription_plans WHERE code = ${p})`)
    .add(f.plan_type, (p) => `s.plan_type = ${p}`)
    .add(f.payment_method, (p) => `s.payment_method = ${p}`)
    .add(f.from, (p) => `s.created_at >= ${p}`)
    .add(f.to, (p) => `s.created_at < ${p}`);
  const page = await cappedList<{ id: string }>(ds, { select: 's.id', from: 'user_subscriptions s', filter, orderBy: 's.created_at DESC, s.id DESC' }, q);
  const ids = page.items.map((r) => r.id);
  const rows = ids.length > 0 ? await ds.getRepository(UserSubscription).find({ where: { id: In(ids) }, relations: { plan: true } }) : [];
  const byId = new Map(rows.map((s) => [s.id, s]));
  return { ...page, items: ids.map((id) => byId.get(id)).filter((s): s is UserSubscription => s !== undefined).map(toSubscriptionResponse) };
}
