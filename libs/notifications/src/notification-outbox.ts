import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export const NOTIFICATION_KINDS = ['payment_confirmed', 'payment_failed', 'payment_expired', 'renewal_due', 'subscription_expiring'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationItem {
  user_id: string;
  kind: NotificationKind;
  /** The same event told twice is one e-mail (e.g. `payment_confirmed:<payment id>`). */
  dedupe_key: string;
  /** What the template shows; never secrets. Amounts as decimal strings. */
  data: Record<string, unknown>;
}

/**
 * The one way other libs ask for an e-mail: rows written with the caller's manager, so the
 * e-mail exists if and only if the event committed. One INSERT per batch.
 */
@Injectable()
export class NotificationOutbox {
  async enqueue(m: EntityManager, items: NotificationItem[]): Promise<number> {
    if (items.length === 0) return 0;
    const rows = (await m.query(
      `INSERT INTO notification_outbox (user_id, kind, dedupe_key, data)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::jsonb[])
       ON CONFLICT (channel, dedupe_key) DO NOTHING
       RETURNING id`,
      [items.map((i) => i.user_id), items.map((i) => i.kind), items.map((i) => i.dedupe_key), items.map((i) => JSON.stringify(i.data))],
    )) as unknown[];
    return rows.length;
  }
}
