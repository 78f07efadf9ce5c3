import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** Channel the user_events triggers notify (migration UserEvents1765200000000). */
export const USER_EVENTS_CHANNEL = 'torgovo_user_events';

export const PUSHED_EVENT_TYPES = ['order.updated', 'bot.updated', 'subscription.updated', 'payment.updated'] as const;
export type PushedEventType = (typeof PUSHED_EVENT_TYPES)[number];
/** `user.deactivated` is internal: it closes the user's sockets and is never sent. */
export type UserEventType = PushedEventType | 'user.deactivated';

/** A place in the feed: (writing transaction, row id); opaque to clients as "xid-id". */
export interface FeedCursor {
  xid: bigint;
  id: bigint;
}

export interface UserEvent {
  cursor: FeedCursor;
  user_id: string;
  type: UserEventType;
  entity_id: string;
  /** Facts the trigger recorded at the change (status, previous status, reason…), for notifications. */
  data: Record<string, unknown>;
  created_at: Date;
}

export const FEED_START: FeedCursor = { xid: 0n, id: 0n };

export function encodeCursor(c: FeedCursor): string {
  return `${c.xid}-${c.id}`;
}

export function parseCursor(value: unknown): FeedCursor | null {
  if (typeof value !== 'string' || !/^\d{1,19}-\d{1,19}$/.test(value)) return null;
  const [xid, id] = value.split('-').map((v) => BigInt(v));
  return { xid, id };
}

export function cursorAfter(a: FeedCursor, b: FeedCursor): boolean {
  return a.xid > b.xid || (a.xid === b.xid && a.id > b.id);
}

interface Row {
  xid: string;
  id: string;
  user_id: string;
  type: UserEventType;
  entity_id: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/**
 * Only rows of transactions older than every transaction still running: a row committed later
 * always has a larger xid than anything returned now, so reading in (xid, id) order never skips
 * one. The price: an event waits for the write transactions that were running when it committed.
 */
const SAFE = `xid < pg_snapshot_xmin(pg_current_snapshot())`;

const toEvent = (r: Row): UserEvent => ({
  cursor: { xid: BigInt(r.xid), id: BigInt(r.id) },
  user_id: r.user_id,
  type: r.type,
  entity_id: r.entity_id,
  data: r.data,
  created_at: r.created_at,
});

/** Reads the user-event feed; written only by the triggers. */
@Injectable()
export class UserEventFeed {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Events after `cursor` in feed order, all users' or one user's. */
  async after(cursor: FeedCursor, limit: number, userId?: string, m: EntityManager = this.ds.manager): Promise<UserEvent[]> {
    const params: unknown[] = [cursor.xid.toString(), cursor.id.toString(), limit];
    if (userId) params.push(userId);
    const rows = (await m.query(
      `SELECT xid::text AS xid, id::text AS id, user_id, type, entity_id, data, created_at FROM user_events
        WHERE (xid, id) > ($1::xid8, $2::bigint) AND ${SAFE} ${userId ? 'AND user_id = $4' : ''}
        ORDER BY xid, id LIMIT $3`,
      params,
    )) as Row[];
    return rows.map(toEvent);
  }

  /** The newest readable place: a new reader starts here. */
  async head(): Promise<FeedCursor> {
    const rows = (await this.ds.query(`SELECT xid::text AS xid, id::text AS id FROM user_events WHERE ${SAFE} ORDER BY xid DESC, id DESC LIMIT 1`)) as Array<{
      xid: string;
      id: string;
    }>;
    return rows[0] ? { xid: BigInt(rows[0].xid), id: BigInt(rows[0].id) } : FEED_START;
  }

  /**
   * Whether everything after `cursor` is still kept: some row at or before it survives (pruning
   * deletes the oldest first). The start of the feed is always resumable.
   */
  async resumable(cursor: FeedCursor): Promise<boolean> {
    if (cursor.xid === 0n && cursor.id === 0n) return true;
    const rows = (await this.ds.query(`SELECT 1 FROM user_events WHERE (xid, id) <= ($1::xid8, $2::bigint) LIMIT 1`, [
      cursor.xid.toString(),
      cursor.id.toString(),
    ])) as unknown[];
    return rows.length > 0;
  }
}
