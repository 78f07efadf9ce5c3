import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { OrderRecord } from '../orders/entities/order.entity';

/** First key of pg_try_advisory_xact_lock(int, int); the second is hashtext(queue key). */
export const ORDER_CLAIM_LOCK_NAMESPACE = 7_204_301;

export type ClaimedOrder = OrderRecord;

/**
 * The queue an order waits in: one per credential — the user's paper account, and their live
 * account. Orders of one queue run one at a time, oldest first (so in order per bot); queues run in
 * parallel, so a live order waiting to retry never holds up the user's paper orders.
 */
export function queueKeyOf(order: Pick<OrderRecord, 'user_id' | 'mode'>): string {
  return `${order.user_id}:${order.mode}`;
}

/** TypeORM answers UPDATE … RETURNING with [rows, affected]; a SELECT with rows. */
export function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/** Thrown inside the claim's transaction to roll it back. */
class ClaimAbandoned extends Error {}

/**
 * Claims due orders, at most one per queue (queueKeyOf: user and mode) at a time.
 *
 * Why not a plain `… FOR UPDATE SKIP LOCKED LIMIT n`: SKIP LOCKED hands a second worker the next
 * row of a queue whose first row is locked, i.e. two orders of one account in flight at once. So:
 *  1. in one READ COMMITTED transaction, take pg_try_advisory_xact_lock(ns, hash(queue)) for up to n
 *     queues whose head order is due and that have nothing under a live lease (try: never waits;
 *     another worker claiming that queue makes us skip it);
 *  2. in the next statement — a fresh snapshot taken after the locks, so it sees every claim
 *     committed before — claim each locked queue's head order (oldest pending/submitting, FIFO by
 *     (created_at, seq): a later signal never overtakes an earlier one, also when one statement
 *     wrote both — they share created_at, the transaction's start, and seq keeps their order) only if it is due and no order of that queue
 *     is `submitting` under a live lease.
 * The claim sets next_attempt_at = now() + lease: the lease is both the "queue busy" flag and the
 * crash timeout. A worker that dies leaves the row `submitting`; once the lease passes the row is
 * due again and is reconciled (looked up by client order id) before anything is placed.
 */
@Injectable()
export class OrderClaimer {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * `busyQueues`: queue keys this worker has in flight. `halted`: once aborted, a claim under way takes
   * nothing and rolls back. `mode`: only that mode's queues (paper in batches; live in batches, or one by one with TRADING_LIVE_BATCH_SIZE 0).
   */
  async claim(limit: number, leaseMs: number, busyQueues: readonly string[] = [], halted?: AbortSignal, mode?: 'paper' | 'live'): Promise<ClaimedOrder[]> {
    if (limit <= 0 || halted?.aborted) return [];
    try {
      return await this.claimIn(limit, leaseMs, busyQueues, halted, mode ?? null);
    } catch (error) {
      if (error instanceof ClaimAbandoned) return [];
      throw error;
    }
  }

  private claimIn(limit: number, leaseMs: number, busyQueues: readonly string[], halted: AbortSignal | undefined, mode: 'paper' | 'live' | null): Promise<ClaimedOrder[]> {
    return this.ds.transaction(async (m) => {
      // Queues are picked by their HEAD order being due: a queue whose head is in backoff or under a
      // live lease cannot run anything now (FIFO), so it must not take one of the `limit` slots.
      // Walked from the due end of orders_queue_idx (next_attempt_at), each candidate checked to be
      // its queue's head with two probes of the queue-heads index: the cost follows the orders
      // claimed, not the orders waiting (a DISTINCT ON over every queue took 12 ms per claim with
      // 10,000 queued, once per completed order). Ordered by next_attempt_at alone, so the index
      // gives the order and the scan stops at the limit (a tie-breaker column would sort every due row).
      // The two probes are scalar subqueries (always run per candidate, by index) rather than NOT EXISTS:
      // as anti-joins the planner, with the statistics of a table that grew by 10,000 rows a second
      // ago, chose unparameterized inner scans — every queued order read per candidate (16 s per claim
      // in a burst). The mode is matched with = ANY(array) so it does not become a constant the
      // planner pushes into the probes either.
      const locked: Array<{ user_id: string; mode: string }> = await m.query(
        `SELECT c.user_id, c.mode FROM (
           SELECT h.user_id, h.mode FROM orders h
            WHERE h.status IN ('pending', 'submitting') AND h.next_attempt_at <= now() AND h.mode = ANY($4::varchar[])
              AND NOT (h.user_id::text || ':' || h.mode = ANY($2::text[]))
              AND (SELECT e.id FROM orders e
                    WHERE e.user_id = h.user_id AND e.mode = h.mode AND e.status IN ('pending', 'submitting')
                    ORDER BY e.created_at, e.seq, e.id LIMIT 1) = h.id
              AND (SELECT count(*) FROM (SELECT 1 FROM orders b
                    WHERE b.user_id = h.user_id AND b.mode = h.mode AND b.status = 'submitting' AND b.next_attempt_at > now() LIMIT 1) busy) = 0
            ORDER BY h.next_attempt_at LIMIT $1
         ) c
         WHERE pg_try_advisory_xact_lock($3, hashtext(c.user_id::text || ':' || c.mode))`,
        [limit, busyQueues, ORDER_CLAIM_LOCK_NAMESPACE, mode ? [mode] : ['paper', 'live']],
      );
      if (locked.length === 0 || halted?.aborted) return [];
      // Per locked queue, its head by a LATERAL LIMIT 1 (one probe of the queue-heads index each) and the
      // rows locked by primary key: a DISTINCT ON over a join, planned from stale statistics, read every
      // queued order (840 ms per claim of 500 queues with 10,000 queued).
      const result: unknown = await m.query(
        `WITH heads AS (
           SELECT h.id FROM unnest($1::uuid[], $2::varchar[]) AS q(user_id, mode)
           CROSS JOIN LATERAL (SELECT o.id, o.next_attempt_at FROM orders o
                                WHERE o.user_id = q.user_id AND o.mode = q.mode AND o.status IN ('pending', 'submitting')
                                ORDER BY o.created_at, o.seq, o.id LIMIT 1) h
            WHERE h.next_attempt_at <= now()
              AND (SELECT count(*) FROM (SELECT 1 FROM orders b
                    WHERE b.user_id = q.user_id AND b.mode = q.mode AND b.status = 'submitting' AND b.next_attempt_at > now() LIMIT 1) busy) = 0
         ), due AS (
           SELECT o.id FROM orders o WHERE o.id = ANY(ARRAY(SELECT id FROM heads))
            FOR UPDATE OF o SKIP LOCKED
         )
         UPDATE orders o
            SET status = 'submitting', attempts = o.attempts + 1, submitted_at = now(),
                next_attempt_at = now() + $3::int * interval '1 millisecond', updated_at = now()
           FROM due
          WHERE o.id = due.id AND o.status IN ('pending', 'submitting') AND o.next_attempt_at <= now()
         RETURNING o.*`,
        [locked.map((r) => r.user_id), locked.map((r) => r.mode), leaseMs],
      );
      if (halted?.aborted) throw new ClaimAbandoned();
      return returnedRows<ClaimedOrder>(result).sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime());
    });
  }
}
