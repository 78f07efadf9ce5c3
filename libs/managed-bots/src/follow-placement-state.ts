import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BotPlacementState, CancelReasons, ManagedFollowStateSource, ManagedOrderRef, OrderOwners } from '@torgovo/trading';
import { followIdOf } from './follow-order-refs';

/**
 * What the executor's placement rule needs of a follower's order, read by this lib that owns the
 * follows: the follow is active (its user still follows: unsubscribe and the stop-loss end it), the
 * managed bot is not paused (nor paused and resumed since the order was fanned out), the
 * follower's max slippage, and for a signal's buy the follow's investment now and the signal's
 * fraction (the rule spends at most their product: a withdrawal after the fan-out is not spent;
 * the follow's share lock makes a withdrawal wait for the decision, or be seen by it). A follow's own closing orders pass
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
    return (await this.lockManyForPlacement(manager, [order])).get(0) ?? null;
  }

  async lockManyForPlacement(manager: EntityManager, orders: readonly ManagedOrderRef[]): Promise<Map<number, BotPlacementState>> {
    const botIds = [...new Set(orders.map((o) => o.managed_bot_id).filter((id): id is string => id !== null))];
    const bots = (await manager.query(`SELECT id, status, resumed_at FROM managed_bots WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`, [botIds])) as Array<{
      id: string;
      status: 'active' | 'paused';
      resumed_at: Date | null;
    }>;
    const botById = new Map(bots.map((b) => [b.id, b]));
    const refs = orders.map((o) => followIdOf(o.source_ref));
    const followIds = [...new Set(refs.filter((r) => r !== null).map((r) => r.followId))];
    // The very follow the order was written for: a re-follow after an unsubscribe does not revive its orders.
    const follows = (await manager.query(
      `SELECT id, user_id, managed_bot_id, status, end_reason, max_slippage_pct::text, investment::text FROM managed_bot_follows
        WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
      [followIds],
    )) as Array<{ id: string; user_id: string; managed_bot_id: string; status: 'active' | 'ended'; end_reason: string | null; max_slippage_pct: string; investment: string }>;
    const followById = new Map(follows.map((f) => [f.id, f]));
    // The fraction of each buy's signal (written once, never changed: read, not locked).
    const signalIds = [...new Set(refs.filter((r, i) => r?.signalId && orders[i].side === 'buy').map((r) => r!.signalId!))];
    const signals =
      signalIds.length === 0
        ? []
        : ((await manager.query(`SELECT id, managed_bot_id, fraction::text FROM managed_bot_signals WHERE id = ANY($1::uuid[])`, [signalIds])) as Array<{
            id: string;
            managed_bot_id: string;
            fraction: string;
          }>);
    const signalById = new Map(signals.map((g) => [g.id, g]));
    const result = new Map<number, BotPlacementState>();
    orders.forEach((order, i) => {
      const ref = refs[i];
      const bot = order.managed_bot_id === null ? undefined : botById.get(order.managed_bot_id);
      const follow = ref ? followById.get(ref.followId) : undefined;
      if (!bot || !ref || !follow || follow.user_id !== order.user_id || follow.managed_bot_id !== order.managed_bot_id) return;
      const closing = ref.closing;
      const signal = ref.signalId ? signalById.get(ref.signalId) : undefined;
      // A signal row of another managed bot, or none: the order's ref is not one the fan-out wrote; the whole investment bounds it.
      const fraction = signal && signal.managed_bot_id === order.managed_bot_id ? signal.fraction : '1';
      const base = {
        plan_type: 'managed_bot' as const,
        allow_selling_beyond_position: false,
        max_slippage_pct: closing ? null : follow.max_slippage_pct,
        follow_sizing: !closing && order.side === 'buy' ? { investment: follow.investment, fraction } : null,
      };
      if (closing) result.set(i, { ...base, status: 'running', stop_reason: null });
      else if (follow.status !== 'active') {
        result.set(i, { ...base, status: 'stopped', stop_reason: `the follow ended: ${follow.end_reason ?? 'unsubscribed'}`, stopped_as: CancelReasons.followEnded });
      } else if (bot.status !== 'active') result.set(i, { ...base, status: 'stopped', stop_reason: 'the managed bot is paused', stopped_as: CancelReasons.managedBotPaused });
      // Fanned out before a pause and its resume: the rule cancels it (managed_bot_paused), as it does a custom bot's order from before a stop.
      else result.set(i, { ...base, status: 'running', stop_reason: null, started_at: bot.resumed_at, stopped_as: CancelReasons.managedBotPaused });
    });
    return result;
  }
}
