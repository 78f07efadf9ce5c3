import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserDeactivatedListener, UserErasedListener, UserHooks } from '@torgovo/users';
import { FollowsService } from './follows.service';

export type FollowUserEndReason = 'user_erased' | 'user_deactivated';

/**
 * Ends a user's active follows when the account is deactivated or erased, in the transaction that
 * made the change (UserHooks), as an unsubscribe without close_positions does: the month so far is
 * settled, the follow ends with end_reason user_deactivated or user_erased, the positions stay on
 * the account. Left active, every later signal wrote orders for the account, the monthly run
 * charged it, it counted among the bot's followers, and a reactivation resumed live copying unasked
 * (a reactivation starts nothing: the user follows again). Orders already queued are canceled
 * `follow_ended` by the placement rule at their turn; after the commit the change waits for the
 * user's sends already decided (UserAccessService → OrderSendFence, every order of the user).
 * Lock order: the change holds the user row (FOR NO KEY UPDATE, UserAccessService), then this takes
 * the follows in id order, as the placement decision does (user FOR SHARE, then follows).
 */
@Injectable()
export class FollowUserListener implements UserDeactivatedListener, UserErasedListener, OnModuleInit {
  private readonly logger = new Logger(FollowUserListener.name);

  constructor(
    private readonly hooks: UserHooks,
    private readonly follows: FollowsService,
  ) {}

  onModuleInit(): void {
    this.hooks.addDeactivationListener(this);
    this.hooks.addErasureListener(this);
  }

  async onUserDeactivated(userId: string, manager: EntityManager): Promise<void> {
    // An erasure deactivates too (in its transaction, after writing erased_at): its follows end as erased.
    const [user] = (await manager.query(`SELECT erased_at IS NOT NULL AS erased FROM users WHERE id = $1`, [userId])) as Array<{ erased: boolean }>;
    await this.end(manager, userId, user?.erased ? 'user_erased' : 'user_deactivated');
  }

  async onUserErased(userId: string, _adminId: string | null, manager: EntityManager): Promise<void> {
    // An account deactivated before its erasure has no active follow left (ended then); this covers any other.
    await this.end(manager, userId, 'user_erased');
  }

  private async end(m: EntityManager, userId: string, reason: FollowUserEndReason): Promise<void> {
    const locked = (await m.query(`SELECT id FROM managed_bot_follows WHERE user_id = $1 AND status = 'active' ORDER BY id FOR UPDATE`, [userId])) as Array<{ id: string }>;
    if (locked.length === 0) return;
    const { ended, settled } = await this.follows.endFollows(
      m,
      locked.map((f) => f.id),
      reason,
      false,
    );
    this.logger.log({ user_id: userId, reason, ended: ended.length, payments: settled.filter((s) => s.payment_id).length }, 'Follows ended: account changed');
  }
}
