import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export const NOTIFICATION_KINDS = [
  'payment_confirmed',
  'payment_unapplied',
  'payment_failed',
  'payment_expired',
  'renewal_due',
  'subscription_expiring',
  'order_filled',
  'order_rejected',
  'bot_stopped',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The kinds a user can turn off, per channel (GET/PATCH /users/me/notifications); billing receipts always go. */
export const CONFIGURABLE_KINDS = ['order_filled', 'order_rejected', 'bot_stopped', 'subscription_expiring', 'payment_failed'] as const;
export type ConfigurableKind = (typeof CONFIGURABLE_KINDS)[number];
export const CHANNELS = ['email', 'telegram'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface NotificationItem {
  user_id: string;
  kind: NotificationKind;
  /** The same event told twice is one e-mail (e.g. `payment_confirmed:<payment id>`). */
  dedupe_key: string;
  /** What the template shows; never secrets. Amounts as decimal strings. */
  data: Record<string, unknown>;
}

/**
 * The one way other libs ask for a notification: rows written with the caller's manager, so the
 * message exists if and only if the event committed. One INSERT per batch, one row per channel:
 * e-mail, and Telegram when the user linked a chat; a channel the user turned off for the kind
 * gets no row. (channel, dedupe_key) is unique: the same event told twice is one message per channel.
 */
@Injectable()
export class NotificationOutbox {
  async enqueue(m: EntityManager, items: NotificationItem[]): Promise<number> {
    if (items.length === 0) return 0;
    const rows = (await m.query(
      `INSERT INTO notification_outbox (user_id, channel, kind, dedupe_key, data)
       SELECT i.user_id, ch.channel, i.kind, i.dedupe_key, i.data
         FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::jsonb[]) AS i(user_id, kind, dedupe_key, data)
        CROSS JOIN (VALUES ('email'), ('telegram')) AS ch(channel)
        WHERE NOT EXISTS (SELECT 1 FROM notification_preferences p
                           WHERE p.user_id = i.user_id AND p.kind = i.kind AND p.channel = ch.channel AND NOT p.enabled)
          AND (ch.channel = 'email' OR EXISTS (SELECT 1 FROM telegram_links t WHERE t.user_id = i.user_id AND t.chat_id IS NOT NULL))
       ON CONFLICT (channel, dedupe_key) DO NOTHING
       RETURNING id`,
      [items.map((i) => i.user_id), items.map((i) => i.kind), items.map((i) => i.dedupe_key), items.map((i) => JSON.stringify(i.data))],
    )) as unknown[];
    return rows.length;
  }
}
