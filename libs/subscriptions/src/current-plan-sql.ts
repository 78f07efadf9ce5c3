import { CURRENT_STATUSES } from './subscription-states';

/**
 * SQL for "user `userIdColumn` holds a current subscription on the plan whose code is bound at
 * `$planParam`", for read models that filter users by plan in one statement (the admin's user list).
 * Subscriptions own what "current" means, so the fragment lives here.
 */
export function holdsCurrentPlanSql(userIdColumn: string, planParam: number): string {
  const statuses = CURRENT_STATUSES.map((s) => `'${s}'`).join(', ');
  return `EXISTS (SELECT 1 FROM user_subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
    WHERE s.user_id = ${userIdColumn} AND s.status IN (${statuses}) AND p.code = $${planParam})`;
}
