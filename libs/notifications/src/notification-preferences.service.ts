import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { NotificationPreferencePatch, NotificationSettingsResponse } from './dto/notification-preferences.dto';
import { CONFIGURABLE_KINDS } from './notification-outbox';
import { TelegramErrors, TelegramLinks } from './telegram/telegram-links';

/** Per user, kind and channel on/off; on unless the user turned it off (a row only for a change). */
@Injectable()
export class NotificationPreferencesService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly links: TelegramLinks,
  ) {}

  async get(userId: string): Promise<NotificationSettingsResponse> {
    const rows = (await this.ds.query(`SELECT kind, channel, enabled FROM notification_preferences WHERE user_id = $1`, [userId])) as Array<{
      kind: string;
      channel: string;
      enabled: boolean;
    }>;
    const off = new Set(rows.filter((r) => !r.enabled).map((r) => `${r.kind}:${r.channel}`));
    return {
      preferences: CONFIGURABLE_KINDS.map((kind) => ({ kind, email: !off.has(`${kind}:email`), telegram: !off.has(`${kind}:telegram`) })),
      telegram: await this.links.status(userId),
    };
  }

  /** One upsert for the whole patch; a later entry for the same kind and channel wins. */
  async update(userId: string, patches: NotificationPreferencePatch[]): Promise<NotificationSettingsResponse> {
    const changes = new Map<string, { kind: string; channel: string; enabled: boolean }>();
    for (const p of patches) {
      if (p.email !== undefined) changes.set(`${p.kind}:email`, { kind: p.kind, channel: 'email', enabled: p.email });
      if (p.telegram !== undefined) changes.set(`${p.kind}:telegram`, { kind: p.kind, channel: 'telegram', enabled: p.telegram });
    }
    const list = [...changes.values()];
    if (list.length > 0) {
      // Only for an account still active and not erased (its row share-locked in the statement): an
      // erasure under way, which deletes the preferences, leaves none written after it.
      // An INSERT … RETURNING answers its rows (TypeORM pairs rows with a count only for UPDATE and DELETE).
      const written = (await this.ds.query(
        `WITH owner AS (SELECT id FROM users WHERE id = $1 AND is_active AND erased_at IS NULL FOR SHARE)
         INSERT INTO notification_preferences (user_id, kind, channel, enabled)
         SELECT owner.id, c.kind, c.channel, c.enabled FROM owner, unnest($2::varchar[], $3::varchar[], $4::boolean[]) AS c(kind, channel, enabled)
         ON CONFLICT (user_id, kind, channel) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()
         RETURNING 1`,
        [userId, list.map((c) => c.kind), list.map((c) => c.channel), list.map((c) => c.enabled)],
      )) as unknown[];
      if (written.length === 0) throw TelegramErrors.accountInactive();
    }
    return this.get(userId);
  }
}
