import type { EntityManager } from 'typeorm';
import { AuditEntry, AuditService } from '@torgovo/core';
import { UserSubscription } from './entities/user-subscription.entity';

/** Who did it, for the audit log. The scheduler passes actorId null (system). */
export interface AuditContext {
  actorId?: string | null;
  ip?: string | null;
  user_agent?: string | null;
}

export function subscriptionAudit(
  event: string,
  sub: Pick<UserSubscription, 'id' | 'user_id' | 'plan_id' | 'plan_type'>,
  ctx: AuditContext,
  data: Record<string, unknown> = {},
): AuditEntry {
  return {
    event_type: event,
    user_id: sub.user_id,
    actor_id: ctx.actorId ?? sub.user_id,
    data: { subscription_id: sub.id, plan_id: sub.plan_id, plan_type: sub.plan_type, ...data },
    ip: ctx.ip ?? null,
    user_agent: ctx.user_agent ?? null,
  };
}

/**
 * A plan change within a type: the old subscription leaves the current states first, so
 * the new one can take its place in the one-current unique index in the same transaction.
 * Its bots are not stopped: the user still has a plan of this type.
 */
export async function markReplaced(m: EntityManager, audit: AuditService, old: UserSubscription, ctx: AuditContext, now: Date): Promise<void> {
  await m.getRepository(UserSubscription).update(
    { id: old.id },
    { status: 'cancelled', cancelled_at: now, ended_at: now, end_reason: 'replaced', auto_renew: false },
  );
  await audit.record(subscriptionAudit('subscription.replaced', old, ctx, { from: old.status, reason: 'replaced' }), m);
}
