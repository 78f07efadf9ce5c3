import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { OrderRecord } from '../orders/entities/order.entity';

/** First key of pg_try_advisory_xact_lock(int, int); the second is hashtext(user_id). */
export const ORDER_CLAIM_LOCK_NAMESPACE = 7_204_301;

export type ClaimedOrder = OrderRecord;

/** TypeORM answers UPDATE … RETURNING with [rows, affected]; a SELECT with rows. */
export function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/**
 * Claims due orders, at most one per user (credential) at a time.
 *
 * Why not a plain `… FOR UPDATE SKIP LOCKED LIMIT n`: SKIP LOCKED hands a second worker the next
 * row of a user whose first row is locked, i.e. two orders of one account in flight at once. So:
 *  1. in one READ COMMITTED transaction, take pg_try_advisory_xact_lock(ns, hash(user)) for up to n
 *     users with due work (try: never waits; another worker claiming that user makes us skip it);
 *  2. in the next statement — a fresh snapshot taken after the locks, so it sees every claim
 *     committed before — claim each locked user's head order (oldest pending/submitting, FIFO:
 *     a later signal never overtakes an earlier one) only if it is due and no order of that user
 *     is `submitting` under a live lease.
 * The claim sets next_attempt_at = now() + lease: the lease is both the "user busy" flag and the
 * crash timeout. A worker that dies leaves the row `submitting`; once the lease passes the row is
 * due again and is reconciled (looked up by client order id) before anything is placed.
 */
@Injectable()
export class OrderClaimer {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async claim(limit: number, leaseMs: number, busyUserIds: readonly string[] = []): Promise<ClaimedOrder[]> {
    if (limit <= 0) return [];
    return this.ds.transaction(async (m) => {
      const locked: Array<{ user_id: string }> = await m.query(
        `SELECT c.user_id FROM (
           SELECT user_id, min(next_attempt_at) AS due_at FROM orders
            WHERE status IN ('pending', 'submitting') AND next_attempt_at <= now() AND NOT (user_id = ANY($2::uuid[]))
            GROUP BY user_id ORDER BY due_at LIMIT $1
         ) c
         WHERE pg_try_advisory_xact_lock($3, hashtext(c.user_id::text))`,
        [limit, busyUserIds, ORDER_CLAIM_LOCK_NAMESPACE],
      );
      if (locked.length === 0) return [];
      const result: unknown = await m.query(
        `WITH heads AS (
           SELECT DISTINCT ON (user_id) id, user_id, next_attempt_at FROM orders
            WHERE user_id = ANY($1::uuid[]) AND status IN ('pending', 'submitting')
            ORDER BY user_id, created_at, id
         ), due AS (
           SELECT o.id FROM orders o JOIN heads h ON h.id = o.id
            WHERE h.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM orders b
                               WHERE b.user_id = h.user_id AND b.status = 'submitting' AND b.next_attempt_at > now())
            FOR UPDATE OF o SKIP LOCKED
         )
         UPDATE orders o
            SET status = 'submitting', attempts = o.attempts + 1, submitted_at = now(),
                next_attempt_at = now() + $2::int * interval '1 millisecond', updated_at = now()
           FROM due
          WHERE o.id = due.id AND o.status IN ('pending', 'submitting') AND o.next_attempt_at <= now()
         RETURNING o.*`,
        [locked.map((r) => r.user_id), leaseMs],
      );
      return returnedRows<ClaimedOrder>(result).sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime());
    });
  }
}
