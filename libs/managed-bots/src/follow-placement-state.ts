import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BotPlacementState, CancelReasons, ManagedFollowStateSource, ManagedOrderRef, OrderOwners } from '@torgovo/trading';
import { followIdOf } from './follow-order-refs';

/**
 * What the executor's placement rule needs of a follower's order, read by this lib that owns the
 * follows: the follow is active (its user still follows: unsubscribe and the stop-loss end it), the
 * managed bot is not paused, and the follower's max slippage. A follow's own closing orders pass
 * whatever the state: they exist to get the follower out. Both rows are share-locked in the order
 * the writers lock them (bot, then follow), so a pause or an unsubscribe waits for the decision.
 */
@Injectable()
export class FollowPlacementStates implements ManagedFollowStateSource, OnModuleInit {
  constructor(private readonly owners: OrderOwners) {}

  onModuleInit(): void {
    this.owners.registerManagedFollows(this);
  }

  async lockForPlacement(manager: EntityManager, order: ManagedOrderRef): Promise<BotPlacementState | null> {
    const [bot] = (await manager.query(`SELECT status FROM managed_bots WHERE id = $1 FOR SHARE`, [order.managed_bot_id])) as Array<{ status: 'active' | 'paused' }>;
    const ref = followIdOf(order.source_ref);
    if (!bot || !ref) return null;
    // The very follow the order was written for: a re-follow after an unsubscribe does not revive its orders.
    const [follow] = (await manager.query(
      `SELECT status, end_reason, max_slippage_pct::text FROM managed_bot_follows
        WHERE id = $1 AND user_id = $2 AND managed_bot_id = $3 FOR SHARE`,
      [ref.followId, order.user_id, order.managed_bot_id],
    )) as Array<{ status: 'active' | 'ended'; end_reason: string | null; max_slippage_pct: string }>;
    if (!follow) return null;
    const closing = ref.closing;
    const base = { plan_type: 'managed_bot' as const, allow_selling_beyond_position: false, max_slippage_pct: closing ? null : follow.max_slippage_pct };
    if (closing) return { ...base, status: 'running', stop_reason: null };
    if (follow.status !== 'active') {
      return { ...base, status: 'stopped', stop_reason: `the follow ended: ${follow.end_reason ?? 'unsubscribed'}`, stopped_as: CancelReasons.followEnded };
    }
    if (bot.status !== 'active') return { ...base, status: 'stopped', stop_reason: 'the managed bot is paused', stopped_as: CancelReasons.managedBotPaused };
    return { ...base, status: 'running', stop_reason: null };
  }
}
