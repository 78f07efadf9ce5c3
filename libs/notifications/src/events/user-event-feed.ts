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
 * How far the feed can be read without skipping a row that commits later. Rows are ordered by the
 * writing transaction's xid; a row committed later comes from a transaction still running now. Two
 * statements, in this order:
 * 1. the write transactions running in THIS database (pg_stat_activity, the reader's own excluded),
 *    and the snapshot's xmax: any transaction that gets its xid after this has a larger one;
 * 2. the read, bounded by the oldest of those still running in its own snapshot (or that xmax).
 * Only this database's transactions count: pg_snapshot_xmin would also wait for a long transaction
 * in any other database of the cluster.
 */
const RUNNING_SQL = `
  SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
         coalesce(array_agg(backend_xid::text) FILTER (WHERE backend_xid IS NOT NULL), '{}') AS running
    FROM pg_stat_activity
   WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()`;

/** $A::xid8 = xmax from RUNNING_SQL, $B::numeric[] = its running xids (32-bit). */
const horizon = (a: number, b: number): string => `
  least($${a}::xid8, coalesce((SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) x
                                WHERE (x::text::numeric % 4294967296) = ANY($${b}::numeric[])), $${a}::xid8))`;

interface Running {
  xmax: string;
  running: string[];
}

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
    const [r] = (await m.query(RUNNING_SQL)) as Running[];
    const params: unknown[] = [cursor.xid.toString(), cursor.id.toString(), limit, r.xmax, r.running];
    if (userId) params.push(userId);
    const rows = (await m.query(
      `SELECT xid::text AS xid, id::text AS id, user_id, type, entity_id, data, created_at FROM user_events
        WHERE (xid, id) > ($1::xid8, $2::bigint) AND xid < ${horizon(4, 5)} ${userId ? 'AND user_id = $6' : ''}
        ORDER BY xid, id LIMIT $3`,
      params,
    )) as Row[];
    return rows.map(toEvent);
  }

  /** The newest readable place: a new reader starts here. */
  async head(): Promise<FeedCursor> {
    const [r] = (await this.ds.query(RUNNING_SQL)) as Running[];
    const rows = (await this.ds.query(`SELECT xid::text AS xid, id::text AS id FROM user_events WHERE xid < ${horizon(1, 2)} ORDER BY xid DESC, id DESC LIMIT 1`, [
      r.xmax,
      r.running,
    ])) as Array<{ xid: string; id: string }>;
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
