import type { EntityManager } from 'typeorm';
import { AuditEntry, AuditService } from '@torgovo/core';
import { UserSubscription } from './entities/user-subscription.entity';

/** Who acts on money and subscriptions (DESIGN "Audit log"): never a system action recorded as the user's. */
export type AuditActor = 'user' | 'admin' | 'system' | 'provider';

/**
 * Who did it, for the audit log. actorId undefined = the subscription's own user; null = nobody's
 * (the scheduler, a provider webhook): then `actor` says which, and ip/user_agent are the request's
 * that caused it (a webhook's too).
 */
export interface AuditContext {
  actorId?: string | null;
  actor?: AuditActor;
  ip?: string | null;
  user_agent?: string | null;
}

export const SYSTEM: AuditContext = { actorId: null, actor: 'system' };

export function actorOf(ctx: AuditContext): AuditActor {
  return ctx.actor ?? (ctx.actorId === null ? 'system' : 'user');
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
    actor_id: ctx.actorId === undefined ? sub.user_id : ctx.actorId,
    data: { subscription_id: sub.id, plan_id: sub.plan_id, plan_type: sub.plan_type, actor: actorOf(ctx), ...data },
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
