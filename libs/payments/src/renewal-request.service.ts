import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '@torgovo/core';
import { NotificationOutbox } from '@torgovo/notifications';
import { RenewalRequester, RenewalRequestItem, SubscriptionHooks } from '@torgovo/subscriptions';

interface CreatedRow {
  id: string;
  user_id: string;
  subscription_id: string;
  amount_usd: string;
  period_end: Date;
}

/**
 * Renewal requests are pending payments with no provider yet: the user pays one by card
 * or in crypto before due_at (expires_at). One INSERT per batch; the unique index
 * payments_renewal_once makes a repeat a no-op, whichever worker sends it.
 */
const INSERT_RENEWALS_SQL = `
  INSERT INTO payments (user_id, subscription_id, plan_id, kind, provider, status, amount_usd, currency,
                        billing_cycle, period_start, period_end, expires_at)
  SELECT r.user_id, r.subscription_id, r.plan_id, 'renewal', NULL, 'pending', r.amount_usd, 'USD',
         r.billing_cycle, r.period_start, r.period_end, r.due_at
  FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::varchar[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
       AS r(user_id, subscription_id, plan_id, amount_usd, billing_cycle, period_start, period_end, due_at)
  ON CONFLICT (subscription_id, period_end, kind) WHERE kind = 'renewal' DO NOTHING
  RETURNING id, user_id, subscription_id, amount_usd, period_end`;

@Injectable()
export class RenewalRequestService implements RenewalRequester, OnModuleInit {
  constructor(
    private readonly hooks: SubscriptionHooks,
    private readonly audit: AuditService,
    private readonly notifications: NotificationOutbox,
  ) {}

  onModuleInit(): void {
    this.hooks.setRenewalRequester(this);
  }

  async requestRenewals(items: RenewalRequestItem[], manager: EntityManager): Promise<void> {
    if (items.length === 0) return;
    const rows = (await manager.query(INSERT_RENEWALS_SQL, [
      items.map((i) => i.user_id),
      items.map((i) => i.subscription_id),
      items.map((i) => i.plan_id),
      items.map((i) => i.amount_usd),
      items.map((i) => i.billing_cycle),
      items.map((i) => i.period_start),
      items.map((i) => i.period_end),
      items.map((i) => i.due_at),
    ])) as CreatedRow[];
    await this.audit.insertMany(
      rows.map((r) => ({
        event_type: 'payment.renewal_requested',
        user_id: r.user_id,
        data: { payment_id: r.id, subscription_id: r.subscription_id, amount_usd: r.amount_usd, period_end: r.period_end.toISOString() },
      })),
      manager,
    );
    // The user is told, in the same transaction: a renewal request exists iff its e-mail does.
    const byId = new Map(items.map((i) => [i.subscription_id, i]));
    await this.notifications.enqueue(
      manager,
      rows.map((r) => ({
        user_id: r.user_id,
        kind: 'renewal_due' as const,
        dedupe_key: `renewal_due:${r.id}`,
        data: {
          payment_id: r.id,
          subscription_id: r.subscription_id,
          amount_usd: r.amount_usd,
          end_date: byId.get(r.subscription_id)?.period_start.toISOString() ?? null,
          due_at: byId.get(r.subscription_id)?.due_at.toISOString() ?? null,
        },
      })),
    );
  }
}
