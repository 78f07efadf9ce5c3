import { RENEWABLE_SQL } from './billing-sweeps';

/**
 * Current subscriptions that will end (not renew: the billing sweep's RENEWABLE rule) within
 * ($1, $2]: the rows of the "subscription ends in N days" notice. Columns: user_id,
 * subscription_id, end_date, plan_name. One statement fragment, owned here, used by notifications.
 */
export const ENDING_SOON_SQL = `
  SELECT s.user_id, s.id AS subscription_id, s.end_date, p.name AS plan_name
    FROM (SELECT id, user_id, plan_id, end_date FROM user_subscriptions
           WHERE status IN ('active', 'trial') AND end_date > $1 AND end_date <= $2 AND NOT ${RENEWABLE_SQL}) s
    JOIN subscription_plans p ON p.id = s.plan_id`;
