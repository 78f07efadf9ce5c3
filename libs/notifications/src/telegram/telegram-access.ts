import { Injectable } from '@nestjs/common';
import { EntitlementsService } from '@torgovo/subscriptions';

/** Whether a user's current plan includes Telegram notifications (the custom-bot plan decides, as for the API). */
@Injectable()
export class TelegramAccess {
  constructor(private readonly entitlements: EntitlementsService) {}

  async includes(userId: string): Promise<boolean> {
    return (await this.entitlements.find(userId, 'custom_bot'))?.telegram_notifications === true;
  }

  /** A batch of the dispatcher (at most one claim's worth of users), in one statement. */
  async allowed(userIds: string[]): Promise<Set<string>> {
    const found = await this.entitlements.findMany(userIds, 'custom_bot');
    return new Set([...found].filter(([, e]) => e.telegram_notifications === true).map(([id]) => id));
  }
}
