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

/** Thrown inside the claim's transaction to roll it back. */
class ClaimAbandoned extends Error {}

/**
 * Claims due orders, at most one per user (credential) at a time.
 *
 * Why not a plain `… FOR UPDATE SKIP LOCKED LIMIT n`: SKIP LOCKED hands a second worker the next
 * row of a user whose first row is locked, i.e. two orders of one account in flight at once. So:
 *  1. in one READ COMMITTED transaction, take pg_try_advisory_xact_lock(ns, hash(user)) for up to n
 *     users whose head order is due and who have nothing under a live lease (try: never waits;
 *     another worker claiming that user makes us skip it);
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

  /** `halted`: once aborted (the worker is stopping), a claim still under way takes nothing and rolls back. */
  async claim(limit: number, leaseMs: number, busyUserIds: readonly string[] = [], halted?: AbortSignal): Promise<ClaimedOrder[]> {
    if (limit <= 0 || halted?.aborted) return [];
    try {
      return await this.claimIn(limit, leaseMs, busyUserIds, halted);
    } catch (error) {
      if (error instanceof ClaimAbandoned) return [];
      throw error;
    }
  }

  private claimIn(limit: number, leaseMs: number, busyUserIds: readonly string[], halted?: AbortSignal): Promise<ClaimedOrder[]> {
    return this.ds.transaction(async (m) => {
      // Users are picked by their HEAD order being due: a user whose head is in backoff or under a
      // live lease cannot run anything now (FIFO), so it must not take one of the `limit` slots.
      const locked: Array<{ user_id: string }> = await m.query(
        `SELECT c.user_id FROM (
           SELECT h.user_id FROM (
             SELECT DISTINCT ON (user_id) user_id, next_attempt_at FROM orders
              WHERE status IN ('pending', 'submitting') AND NOT (user_id = ANY($2::uuid[]))
              ORDER BY user_id, created_at, id
           ) h
            WHERE h.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM orders b
                               WHERE b.user_id = h.user_id AND b.status = 'submitting' AND b.next_attempt_at > now())
            ORDER BY h.next_attempt_at, h.user_id LIMIT $1
         ) c
         WHERE pg_try_advisory_xact_lock($3, hashtext(c.user_id::text))`,
        [limit, busyUserIds, ORDER_CLAIM_LOCK_NAMESPACE],
      );
      if (locked.length === 0 || halted?.aborted) return [];
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
      if (halted?.aborted) throw new ClaimAbandoned();
      return returnedRows<ClaimedOrder>(result).sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime());
    });
  }
}
