import type { AuthUser, RequestMeta } from '@torgovo/core';

/** The admin behind a managed-bot action, as every admin action is audited: who, from where, with what. */
export interface AdminActor {
  actorId: string;
  ip: string | null;
  user_agent: string | null;
}

export const adminActor = (user: AuthUser, meta: RequestMeta): AdminActor => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

/** The audit entry's actor fields for an admin action. */
export const auditedBy = (a: AdminActor): { actor_id: string; ip: string | null; user_agent: string | null } => ({
  actor_id: a.actorId,
  ip: a.ip,
  user_agent: a.user_agent,
});
