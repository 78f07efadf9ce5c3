import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
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
}

/** Where the owning lib registers itself (in its onModuleInit), as with UserHooks. */
@Injectable()
export class OrderOwners {
  private source: BotStateSource | null = null;

  registerBots(source: BotStateSource): void {
    this.source = source;
  }

  /** Throws when no lib registered: an order of a bot is never decided without its bot's state. */
  bots(): BotStateSource {
    if (!this.source) throw new Error('No bot state source registered (import CustomBotsModule in the worker)');
    return this.source;
  }
}
