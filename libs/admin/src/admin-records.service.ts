import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CommonErrors, listAuditLogs } from '@torgovo/core';
import { listAllPayments } from '@torgovo/payments';
import { listAllSubscriptions } from '@torgovo/subscriptions';
import { listAllOrders, toOrderResponse } from '@torgovo/trading';
import { AdminOrderPage, AdminOrdersQuery, AdminPaymentPage, AdminPaymentsQuery, AdminSubscriptionPage, AdminSubscriptionsQuery, AuditLogPage, AuditLogsQuery } from './dto/admin-records.dto';

/** `from`/`to` as times; from after to is a 400 (an empty answer would hide the typo). */
function timeRange(q: { from?: string; to?: string }): { from?: Date; to?: Date } {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from > to) throw CommonErrors.validation('from is after to', [{ field: 'from', message: 'must not be after to' }]);
  return { from, to };
}

/**
 * The read-only lists of every user's records. Each owning lib runs its own statement and maps its
 * rows with the mapper its user-facing endpoint uses, so admins see the shapes users see.
 */
@Injectable()
export class AdminRecordsService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async auditLogs(q: AuditLogsQuery): Promise<AuditLogPage> {
    const page = await listAuditLogs(this.ds, { event_type: q.event_type, user_id: q.user_id, ...timeRange(q) }, q);
    return { ...page, items: page.items.map((a) => ({ ...a, created_at: a.created_at.toISOString() })) };
  }

  subscriptions(q: AdminSubscriptionsQuery): Promise<AdminSubscriptionPage> {
    return listAllSubscriptions(this.ds, { user_id: q.user_id, status: q.status, plan: q.plan, plan_type: q.plan_type, payment_method: q.payment_method, ...timeRange(q) }, q);
  }

  payments(q: AdminPaymentsQuery): Promise<AdminPaymentPage> {
    return listAllPayments(this.ds, { user_id: q.user_id, status: q.status, provider: q.provider, kind: q.kind, plan: q.plan, ...timeRange(q) }, q);
  }

  async orders(q: AdminOrdersQuery): Promise<AdminOrderPage> {
    const page = await listAllOrders(this.ds, { user_id: q.user_id, bot_id: q.bot_id, status: q.status, symbol: q.symbol, mode: q.mode, ...timeRange(q) }, q);
    return { ...page, items: page.items.map(toOrderResponse) };
  }
}
