/**
 * The profit_share payment records a settlement creates, as a statement fragment (data-modifying
 * CTE body) so libs/managed-bots writes its ledger rows, the payments and the new high-water marks
 * in one statement. `source` names a relation with (payment_id, user_id, managed_bot_id, owed,
 * period_start, period_end); rows with a null payment_id (nothing owed) create no payment.
 * The record is `pending` with no provider: the amount is due, collected by the billing flow.
 */
export function insertProfitSharePaymentsSql(source: string): string {
  return `INSERT INTO payments (id, user_id, kind, provider, status, amount_usd, currency, period_start, period_end, managed_bot_id)
    SELECT payment_id, user_id, 'profit_share', NULL, 'pending', owed::numeric(18,2), 'USD', period_start, period_end, managed_bot_id
      FROM ${source} WHERE payment_id IS NOT NULL
    RETURNING id`;
}
