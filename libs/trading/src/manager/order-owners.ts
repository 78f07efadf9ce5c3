import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { OrderRecord } from '../orders/entities/order.entity';
import type { BotPlacementState } from './placement-rule';

/**
 * The bots an order can belong to are owned by libs above trading (custom-bots), so they report
 * their bot's state here instead of trading reading their tables.
 */
export interface BotStateSource {
  /**
   * The bot's state for the placement rule, its row share-locked until `manager`'s transaction
   * ends (a stop or delete either committed before, or waits for the decision). null: no such bot.
   */
  lockForPlacement(manager: EntityManager, botId: string): Promise<BotPlacementState | null>;
  /** lockForPlacement for many bots in one statement, rows locked in id order (the worker's batch); a missing bot has no entry. */
  lockManyForPlacement(manager: EntityManager, botIds: readonly string[]): Promise<Map<string, BotPlacementState>>;
}

/** A managed-bot follower's order: the follow and its managed bot, owned by libs/managed-bots. */
export type ManagedOrderRef = Pick<OrderRecord, 'user_id' | 'managed_bot_id' | 'source_ref' | 'side' | 'position_percent'>;

export interface ManagedFollowStateSource {
  /**
   * The follow's state for the placement rule (plan_type managed_bot, stopped_as follow_ended or
   * managed_bot_paused, the follower's max_slippage_pct), its rows share-locked until `manager`'s
   * transaction ends, so an unsubscribe or a pause either committed before or waits for the decision.
   * null: no such follow or managed bot.
   */
  lockForPlacement(manager: EntityManager, order: ManagedOrderRef): Promise<BotPlacementState | null>;
  /**
   * lockForPlacement for many orders: all their managed bots, then all their follows, each set in id
   * order (the writers' order: bot, then follow). Keyed by the index in `orders`; no entry: null.
   */
  lockManyForPlacement(manager: EntityManager, orders: readonly ManagedOrderRef[]): Promise<Map<number, BotPlacementState>>;
}

/** Where the owning lib registers itself (in its onModuleInit), as with UserHooks. */
@Injectable()
export class OrderOwners {
  private source: BotStateSource | null = null;
  private managedSource: ManagedFollowStateSource | null = null;

  registerBots(source: BotStateSource): void {
    this.source = source;
  }

  /** Throws when no lib registered: an order of a bot is never decided without its bot's state. */
  bots(): BotStateSource {
    if (!this.source) throw new Error('No bot state source registered (import CustomBotsModule in the worker)');
    return this.source;
  }

  registerManagedFollows(source: ManagedFollowStateSource): void {
    this.managedSource = source;
  }

  /** Throws when no lib registered: a follower's order is never decided without its follow's state. */
  managedFollows(): ManagedFollowStateSource {
    if (!this.managedSource) throw new Error('No managed follow state source registered (import ManagedBotsModule in the worker)');
    return this.managedSource;
  }
}
