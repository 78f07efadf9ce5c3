import { Injectable } from '@nestjs/common';
import { EntitlementsService } from '@torgovo/subscriptions';

/** Whether a user's current plan includes Telegram notifications (the custom-bot plan decides, as for the API). */
@Injectable()
export class TelegramAccess {
  constructor(private readonly entitlements: EntitlementsService) {}

  async includes(userId: string): Promise<boolean> {
    return (await this.entitlements.find(userId, 'custom_bot'))?.telegram_notifications === true;
  }

  /** A batch of the dispatcher (at most one claim's worth of users). */
  async allowed(userIds: string[]): Promise<Set<string>> {
    const checks = await Promise.all(userIds.map(async (id) => [id, await this.includes(id)] as const));
    return new Set(checks.filter(([, ok]) => ok).map(([id]) => id));
  }
}
