import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BotPlacementState, BotStateSource, OrderOwners } from '@torgovo/trading';

/** What the executor's placement rule needs of a custom bot, read by this lib that owns the bots table. */
@Injectable()
export class BotPlacementStates implements BotStateSource, OnModuleInit {
  constructor(private readonly owners: OrderOwners) {}

  onModuleInit(): void {
    this.owners.registerBots(this);
  }

  async lockForPlacement(manager: EntityManager, botId: string): Promise<BotPlacementState | null> {
    return (await this.lockManyForPlacement(manager, [botId])).get(botId) ?? null;
  }

  async lockManyForPlacement(manager: EntityManager, botIds: readonly string[]): Promise<Map<string, BotPlacementState>> {
    const rows = (await manager.query(
      `SELECT id, status, stop_reason, deleted_at IS NOT NULL AS deleted, allow_selling_beyond_position, started_at FROM bots
        WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
      [[...new Set(botIds)]],
    )) as Array<{ id: string; status: 'running' | 'stopped'; stop_reason: string | null; deleted: boolean; allow_selling_beyond_position: boolean; started_at: Date | null }>;
    return new Map(
      rows.map((bot) => [
        bot.id,
        {
          status: bot.deleted ? 'deleted' : bot.status,
          stop_reason: bot.stop_reason,
          plan_type: 'custom_bot',
          allow_selling_beyond_position: bot.allow_selling_beyond_position,
          started_at: bot.started_at,
        },
      ]),
    );
  }
}
