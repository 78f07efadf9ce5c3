import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AuditService, Role } from '@torgovo/core';
import { RefreshToken } from './entities/refresh-token.entity';
import { User } from './entities/user.entity';
import { ExchangeCredentialsService } from './exchange-credentials.service';
import { UserHooks } from './user-hooks';
import { UserErrors } from './errors';

/** Who changes an account: an admin over HTTP (with the request's IP and user agent) or the CLI. */
export interface AccessActor {
  /** The acting admin's user id; null for the CLI (an operator at the machine). */
  actorId: string | null;
  source: 'admin' | 'cli';
  ip?: string | null;
  user_agent?: string | null;
}

export interface AccessChange {
  is_active?: boolean;
  role?: Role;
}

/**
 * pg_advisory_xact_lock key of "the set of active admins": every change that can remove an active
 * admin (deactivate, demote, erase) takes it before counting, so two admins demoting each other at
 * the same moment cannot both succeed and leave the platform with none. Every change an admin makes
 * takes it too, and checks under it that the admin still is one: their own demotion, committed
 * while their request was under way, is then seen (it is made under this lock).
 */
export const ADMIN_SET_LOCK = 7_204_403;

/**
 * In the transaction of an admin's write, before its effect: the acting admin is still an active
 * admin. The role guard read the role when the request came in; a demotion or deactivation
 * committed since then must stop what the request was about to do (a managed signal moving every
 * follower's money, a webhook secret handed out, a plan edited). The actor's row is share-locked
 * until the write commits, so a demotion (which locks that row for update) either committed before
 * — seen here: 403 — or waits for this write. Take it first: the user row before anything else, as
 * every write here does.
 */
export async function lockActingAdmin(m: EntityManager, actorId: string): Promise<void> {
  if (!(await lockActiveAdmin(m, actorId))) throw UserErrors.actorNotAdmin();
}

/**
 * What lockActingAdmin checks, answered instead of thrown: true when the user is an active,
 * non-erased admin, their row share-locked until the transaction ends. For an effect that acts on
 * an admin's earlier authority (the managed-bot webhook secret they issued), where "no longer an
 * admin" is not the caller's 403.
 */
export async function lockActiveAdmin(m: EntityManager, userId: string): Promise<boolean> {
  const [row] = (await m.query(`SELECT role = 'admin' AND is_active AND erased_at IS NULL AS admin FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ admin: boolean }>;
  return row?.admin === true;
}

/**
 * The one place that changes who may use the platform: activate, deactivate, change role, erase.
 * The rules are checked here, under the lock, at the moment of the change — for the admin API and
 * the CLI alike: an admin never demotes, deactivates or erases themselves, and the last active
 * admin is never removed.
 */
@Injectable()
export class UserAccessService {
  private readonly logger = new Logger(UserAccessService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly hooks: UserHooks,
    private readonly credentials: ExchangeCredentialsService,
  ) {}

  /** Applies `change`; returns false when nothing changed. Deactivating revokes tokens and stops what runs for the user. */
  async change(userId: string, change: AccessChange, actor: AccessActor): Promise<boolean> {
    const changed = await this.ds.transaction(async (m) => {
      const user = await this.lockForChange(m, userId, actor, change);
      if (user.erased_at) throw UserErrors.userErased();
      const next = { is_active: change.is_active ?? user.is_active, role: change.role ?? user.role };
      if (next.is_active === user.is_active && next.role === user.role) return false;
      await m.getRepository(User).update({ id: userId }, next);
      if (user.is_active && !next.is_active) await this.deactivateIn(m, userId);
      const meta = { actor_id: actor.actorId, ip: actor.ip ?? null, user_agent: actor.user_agent ?? null };
      if (next.is_active !== user.is_active) {
        await this.audit.record({ event_type: next.is_active ? 'user.activated' : 'user.deactivated', user_id: userId, data: { source: actor.source }, ...meta }, m);
      }
      if (next.role !== user.role) {
        await this.audit.record({ event_type: 'user.role_changed', user_id: userId, data: { source: actor.source, from: user.role, to: next.role }, ...meta }, m);
      }
      this.logger.log({ user_id: userId, actor_id: actor.actorId, source: actor.source, ...next }, 'User access changed');
      return { deactivated: user.is_active && !next.is_active };
    });
    // A deactivated user's bots are stopped: answered once no send decided before that can still reach the exchange.
    if (changed && changed.deactivated) await this.hooks.sendsSettled({ user_id: userId });
    return changed !== false;
  }

  /**
   * Erases a person and keeps the financial record (GDPR-style erasure with bookkeeping retention):
   * email, name, password and exchange keys are gone, tokens revoked, bots stopped, managed-bot
   * follows and current subscriptions ended (the listeners do it in this transaction); orders, payments and audit rows
   * stay, keyed by the user id, with the audit rows' IP, user agent and personal fields removed (the
   * person's IP and user agent also where they acted on others); their sessions (refresh tokens) are deleted.
   * Erasing an erased account changes nothing.
   */
  async erase(userId: string, actor: AccessActor): Promise<void> {
    const done = await this.ds.transaction(async (m) => {
      const user = await this.lockForChange(m, userId, actor, { is_active: false, role: 'user' });
      if (user.erased_at) return false;
      await m.query(
        `UPDATE users SET email = $2, full_name = '', password_hash = $3, role = 'user', is_active = false, erased_at = now() WHERE id = $1`,
        // The address is unique and routable nowhere (.invalid, RFC 2606); the hash is no argon2 hash, so no password verifies.
        [userId, `erased-${userId}@erased.invalid`, `!erased-${randomBytes(16).toString('hex')}`],
      );
      if (user.is_active) await this.deactivateIn(m, userId);
      await this.credentials.disconnectIn(m, userId, { ip: actor.ip ?? null, user_agent: actor.user_agent ?? null, actor_id: actor.actorId });
      await this.hooks.erased(userId, actor.actorId, m);
      await m.query(
        `UPDATE audit_logs SET ip = NULL, user_agent = NULL, data = data - 'email' - 'full_name' - 'ip' - 'user_agent' WHERE user_id = $1`,
        [userId],
      );
      // Where the person acted on others (an admin, say): their own IP and user agent go; the rows stay.
      await m.query(`UPDATE audit_logs SET ip = NULL, user_agent = NULL WHERE actor_id = $1 AND user_id IS DISTINCT FROM $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [userId]);
      // Sessions are no financial record: every refresh token (each with the IP and user agent it was
      // issued to), revoked or not, is deleted — revoked ones were kept up to their expiry and retention.
      await m.query(`DELETE FROM refresh_tokens WHERE user_id = $1`, [userId]);
      await this.audit.record(
        { event_type: 'user.erased', user_id: userId, actor_id: actor.actorId, data: { source: actor.source }, ip: actor.ip ?? null, user_agent: actor.user_agent ?? null },
        m,
      );
      this.logger.log({ user_id: userId, actor_id: actor.actorId }, 'User erased');
      return true;
    });
    if (done) await this.hooks.sendsSettled({ user_id: userId });
  }

  private async deactivateIn(m: EntityManager, userId: string): Promise<void> {
    await m.getRepository(RefreshToken).update({ user_id: userId, revoked_at: IsNull() }, { revoked_at: new Date() });
    // Personal access tokens too: a reactivation (after a compromise, say) brings no leaked token back.
    await m.query(`UPDATE personal_access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
    await this.hooks.deactivated(userId, m);
  }

  /** Locks the admin set (when the change could shrink it) and the user row, then applies the rules. */
  private async lockForChange(m: EntityManager, userId: string, actor: AccessActor, change: AccessChange): Promise<User> {
    const removesAdmin = change.is_active === false || (change.role !== undefined && change.role !== 'admin');
    const byAdmin = actor.source === 'admin' && actor.actorId !== null;
    if (removesAdmin || byAdmin) await m.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_SET_LOCK]);
    if (byAdmin) {
      // The guard checked the role when the request came in; the change happens now.
      const [acting] = (await m.query(`SELECT role = 'admin' AND is_active AS admin FROM users WHERE id = $1`, [actor.actorId])) as Array<{ admin: boolean }>;
      if (!acting?.admin) throw UserErrors.actorNotAdmin();
    }
    // FOR NO KEY UPDATE, not FOR UPDATE: it still excludes every share lock taken on the row (login,
    // bot start, placement, subscribe), but not the FK checks of rows written for the user. The
    // change's listeners wait for the user's follows (FollowUserListener); an unsubscribe or a
    // settlement holding one of them writes a settlement, a payment or an order keyed by the user.
    // Under FOR UPDATE that FK check waited for this change, which waited for the follow: a deadlock.
    // Nothing here changes the id, the only column a foreign key uses.
    const user = await m.getRepository(User).findOne({ where: { id: userId }, lock: { mode: 'for_no_key_update' } });
    if (!user) throw UserErrors.userNotFound();
    if (!removesAdmin || user.role !== 'admin' || !user.is_active) return user;
    if (actor.actorId === userId) throw UserErrors.cannotRemoveSelf();
    const [{ others }] = (await m.query(`SELECT count(*)::int AS others FROM users WHERE role = 'admin' AND is_active AND id <> $1`, [userId])) as Array<{ others: number }>;
    if (others === 0) throw UserErrors.lastAdmin();
    return user;
  }
}
