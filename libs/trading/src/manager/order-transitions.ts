import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { CHANGED_FILL_COLUMNS, MOVE_POSITIONS_CTE, PREVIOUS_FILL_COLUMNS, previousFillColumns } from './bot-positions';
import { returnedRows } from './order-claimer';
import type { OrderRecord } from '../orders/entities/order.entity';
import type { OrderOutcome } from './order-outcome';
import { CancelReasons } from './placement-rule';
import { SEND_SETTLE_MAX_MS } from '../orders/send-fence';

/** syncOpenMany's `prev` joins v, which has columns of the same names. */
const PREVIOUS_FILL_COLUMNS_OF_ORDERS = previousFillColumns('orders');

const USER_CANCELED_REASON = `${CancelReasons.userCanceled}: canceled by the user before it was sent`;
/** A never-sent manual close that a newer close of the bot replaced (OrderTransitions.retryLater, release). */
export const SUPERSEDED_CLOSE_REASON = `${CancelReasons.superseded}: a newer close of this bot waits and sells the whole position`;

/**
 * The outcome columns recordMany and confirmAndRecordMany write, one array each, in this order:
 * status, filled, average, cost, fee, fee_currency, exchange_order_id, final, reason (null where no outcome).
 */
function outcomeArrays(outcomes: ReadonlyArray<OrderOutcome | null>): unknown[][] {
  const col = <T>(f: (o: OrderOutcome) => T) => outcomes.map((o) => (o ? f(o) : null));
  return [
    col((o) => o.status),
    col((o) => o.filled),
    col((o) => o.average),
    col((o) => o.cost),
    col((o) => o.fee),
    col((o) => o.fee_currency),
    col((o) => o.exchange_order_id),
    col((o) => o.final),
    col((o) => o.reason),
  ];
}

/** The end of a recording UPDATE (`changed`, from `prev` and `v`): the bots' positions moved by the fills, the ids written. */
const RECORDED_TAIL = `FROM prev JOIN v ON v.id = prev.id WHERE o.id = prev.id
         RETURNING ${CHANGED_FILL_COLUMNS}
       ), ${MOVE_POSITIONS_CTE}
       SELECT id FROM changed`;

/** The claims' ids and attempts, the first two arrays of a recording UPDATE. */
function claimArrays(items: ReadonlyArray<{ claim: ClaimToken }>): unknown[][] {
  return [items.map((i) => i.claim.id), items.map((i) => i.claim.attempts)];
}

/** Which claim of the row we hold: attempts is bumped by every claim, so it doubles as a fencing token. */
export interface ClaimToken {
  id: string;
  attempts: number;
}

/**
 * Every state change is one UPDATE guarded by the state we expect (`submitting` under our claim,
 * or `open` for the sync): a worker whose lease was lost cannot overwrite a newer result.
 * Each method answers whether the row was ours to change.
 */
@Injectable()
export class OrderTransitions {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * The exchange's view of the order after placing or reconciling it; the fill moves the bot's
   * running position in the same statement.
   */
  async record(claim: ClaimToken, o: OrderOutcome): Promise<boolean> {
    return (await this.recordMany([{ claim, outcome: o }])).has(claim.id);
  }

  /**
   * Right before an order is sent, in the placement decision's transaction: the claim is still
   * ours — same attempt, lease not passed (the claimer's own test for "busy") — and its lease is
   * renewed for the placement call. No row: another worker may own the order now, so nothing may be
   * sent. The same statement marks the order as possibly on the exchange (sent_at), binds it to the
   * credential it is sent with, and writes what an order sized now came to.
   */
  async confirmClaim(
    m: EntityManager,
    claim: ClaimToken,
    leaseMs: number,
    sent: { credentialId: string | null; amount: string | null; quoteAmount: string | null; side: 'buy' | 'sell' },
  ): Promise<boolean> {
    return (await this.confirmClaims(m, [{ claim, sent }], leaseMs)).has(claim.id);
  }

  /** confirmClaim for a batch of decisions, one statement: the ids whose claim was still ours (the same guards, row by row). */
  async confirmClaims(
    m: EntityManager,
    items: ReadonlyArray<{ claim: ClaimToken; sent: { credentialId: string | null; amount: string | null; quoteAmount: string | null; side: 'buy' | 'sell' } }>,
    leaseMs: number,
  ): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const result: unknown = await m.query(
      `UPDATE orders o SET next_attempt_at = now() + $7::int * interval '1 millisecond',
              sent_at = coalesce(o.sent_at, now()), credential_id = coalesce(o.credential_id, c.credential_id),
              -- A live send may reach the exchange until its expTime: this bound (see OrderTransitions.retryLater).
              send_settles_at = CASE WHEN o.mode = 'live' THEN now() + $8::int * interval '1 millisecond' END,
              amount = c.amount, quote_amount = c.quote_amount, side = c.side, updated_at = now()
         FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::numeric[], $5::numeric[], $6::varchar[]) AS c(id, attempts, credential_id, amount, quote_amount, side)
        WHERE o.id = c.id AND o.status = 'submitting' AND o.attempts = c.attempts AND o.next_attempt_at > now()
          AND (o.credential_id IS NULL OR o.credential_id = c.credential_id)
        RETURNING o.id`,
      [
        items.map((i) => i.claim.id),
        items.map((i) => i.claim.attempts),
        items.map((i) => i.sent.credentialId),
        items.map((i) => i.sent.amount),
        items.map((i) => i.sent.quoteAmount),
        items.map((i) => i.sent.side),
        leaseMs,
        SEND_SETTLE_MAX_MS,
      ],
    );
    return new Set(returnedRows<{ id: string }>(result).map((r) => r.id));
  }

  /**
   * confirmClaims and recordMany in ONE statement, for orders placed inside the placement decision's
   * transaction (the paper batch: the fill is in that transaction too, so the decision, the fill and
   * its record commit together). Per order: the confirm's writes (sent_at, the credential, what the
   * order was sized to, the lease renewed) and, when it has an outcome, the record's (status, fill,
   * bot position). An order without an outcome (the paper exchange refused it) is only confirmed, as
   * confirmClaims leaves it, for OrderExecutor.fail. Guarded as both are: still `submitting` under
   * this attempt, lease not passed. The ids written.
   */
  async confirmAndRecordMany(
    m: EntityManager,
    items: ReadonlyArray<{
      claim: ClaimToken;
      sent: { credentialId: string | null; amount: string | null; quoteAmount: string | null; side: 'buy' | 'sell' };
      outcome: OrderOutcome | null;
    }>,
    leaseMs: number,
  ): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const result: unknown = await m.query(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::numeric[], $5::numeric[], $6::varchar[], $7::boolean[],
                              $8::varchar[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::varchar[], $14::varchar[], $15::boolean[], $16::text[])
                AS v(id, attempts, credential_id, amount, quote_amount, side, recorded, status, filled, average, cost, fee, fee_currency, exchange_order_id, final, reason)
       ), prev AS (
         SELECT id, ${PREVIOUS_FILL_COLUMNS} FROM orders
          WHERE (id, attempts) IN (SELECT id, attempts FROM v) AND status = 'submitting' AND next_attempt_at > now()
          ORDER BY id FOR UPDATE
       ), changed AS (
         UPDATE orders o SET sent_at = coalesce(o.sent_at, now()), credential_id = coalesce(o.credential_id, v.credential_id),
                amount = v.amount, quote_amount = v.quote_amount, side = v.side,
                next_attempt_at = CASE WHEN v.recorded THEN o.next_attempt_at ELSE now() + $17::int * interval '1 millisecond' END,
                status = CASE WHEN v.recorded THEN v.status ELSE o.status END,
                filled = CASE WHEN v.recorded THEN v.filled ELSE o.filled END,
                average = CASE WHEN v.recorded THEN v.average ELSE o.average END,
                cost = CASE WHEN v.recorded THEN v.cost ELSE o.cost END,
                fee = CASE WHEN v.recorded THEN v.fee ELSE o.fee END,
                fee_currency = CASE WHEN v.recorded THEN v.fee_currency ELSE o.fee_currency END,
                exchange_order_id = CASE WHEN v.recorded THEN COALESCE(v.exchange_order_id, o.exchange_order_id) ELSE o.exchange_order_id END,
                reason = CASE WHEN v.recorded THEN v.reason ELSE o.reason END,
                closed_at = CASE WHEN v.recorded THEN (CASE WHEN v.final THEN now() END) ELSE o.closed_at END,
                acknowledged_at = CASE WHEN v.recorded THEN coalesce(o.acknowledged_at, now()) ELSE o.acknowledged_at END,
                updated_at = now()
           ${RECORDED_TAIL}`,
      [
        ...claimArrays(items),
        items.map((i) => i.sent.credentialId),
        items.map((i) => i.sent.amount),
        items.map((i) => i.sent.quoteAmount),
        items.map((i) => i.sent.side),
        items.map((i) => i.outcome !== null),
        ...outcomeArrays(items.map((i) => i.outcome)),
        leaseMs,
      ],
    );
    return new Set(returnedRows<{ id: string }>(result).map((r) => r.id));
  }

  /** end() for many orders in one statement; the ids that were ours to end. */
  async endMany(items: ReadonlyArray<{ claim: ClaimToken; status: 'rejected' | 'failed' | 'canceled'; reason: string }>, manager?: EntityManager): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const result: unknown = await (manager ?? this.ds.manager).query(
      `UPDATE orders o SET status = e.status, reason = e.reason, closed_at = now(), updated_at = now()
         FROM unnest($1::uuid[], $2::int[], $3::varchar[], $4::text[]) AS e(id, attempts, status, reason)
        WHERE o.id = e.id AND o.status = 'submitting' AND o.attempts = e.attempts
        RETURNING o.id`,
      [items.map((i) => i.claim.id), items.map((i) => i.claim.attempts), items.map((i) => i.status), items.map((i) => i.reason)],
    );
    return new Set(returnedRows<{ id: string }>(result).map((r) => r.id));
  }

  /** record() for many outcomes in one statement (the paper batch's fills); the ids that were ours to record. */
  async recordMany(items: ReadonlyArray<{ claim: ClaimToken; outcome: OrderOutcome }>): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const result: unknown = await this.ds.query(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::varchar[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::varchar[], $9::varchar[], $10::boolean[], $11::text[])
                AS v(id, attempts, status, filled, average, cost, fee, fee_currency, exchange_order_id, final, reason)
       ), prev AS (
         SELECT id, ${PREVIOUS_FILL_COLUMNS} FROM orders WHERE (id, attempts) IN (SELECT id, attempts FROM v) AND status = 'submitting'
          ORDER BY id FOR UPDATE
       ), changed AS (
         UPDATE orders o SET status = v.status, filled = v.filled, average = v.average, cost = v.cost, fee = v.fee, fee_currency = v.fee_currency,
                exchange_order_id = COALESCE(v.exchange_order_id, o.exchange_order_id), reason = v.reason,
                closed_at = CASE WHEN v.final THEN now() END, acknowledged_at = coalesce(o.acknowledged_at, now()), updated_at = now()
           ${RECORDED_TAIL}`,
      [
        ...claimArrays(items),
        ...outcomeArrays(items.map((i) => i.outcome)),
      ],
    );
    return new Set(returnedRows<{ id: string }>(result).map((r) => r.id));
  }

  /**
   * A claim given back unused (the worker is stopping): pending and due at once, as if never claimed,
   * so the next claim does not spend an attempt on a look-up of an order nobody sent.
   */
  async release(claim: ClaimToken): Promise<boolean> {
    return (await this.orSupersededClose(claim, () =>
      this.apply(
        `UPDATE orders SET status = 'pending', attempts = attempts - 1, next_attempt_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'submitting' AND attempts = $2
          RETURNING id`,
        [claim.id, claim.attempts],
      ),
    )) !== false;
  }

  /**
   * A manual close that never left (sent_at null) goes back to `pending` — unless the user asked for
   * another close of the bot meanwhile (POST /bots/{id}/close queues a new one once this one was
   * claimed): orders_one_pending_close allows one waiting close per bot, and the newer one sells the
   * whole position anyway. This one then ends `canceled superseded`. Before, the statement failed on
   * the index and the close stayed `submitting` under its lease, holding the user's queue.
   */
  private async orSupersededClose(claim: ClaimToken, back: () => Promise<boolean>): Promise<boolean | 'superseded'> {
    try {
      return await back();
    } catch (err) {
      if ((err as { code?: string; constraint?: string; driverError?: { constraint?: string } }).code !== '23505') throw err;
      const constraint = (err as { constraint?: string }).constraint ?? (err as { driverError?: { constraint?: string } }).driverError?.constraint;
      if (constraint !== 'orders_one_pending_close') throw err;
      const ended = await this.end(claim, 'canceled', SUPERSEDED_CLOSE_REASON);
      return ended ? 'superseded' : false;
    }
  }

  /**
   * Transient failure: back to `pending`, due after `delayMs`, keeping the reason for the user to see
   * (at once when the user asked to cancel during this attempt: the next claim cancels it, or finds
   * it sent). A cancel asked before this attempt was claimed was this attempt's to act on
   * (requestCancel made the order due at once): its failure — a look-up OKX refused, as often right
   * after a lost answer — backs off like any other. Made due at once on every failure, the attempts
   * were spent in a fraction of a second and the order ended `failed` while it rested on OKX, the
   * user's cancel never carried out there.
   * `noSendPending`: no send of this attempt can still reach the exchange (it was refused before
   * OKX's matching engine, or decided and never left), so send_settles_at is cleared and a stop need
   * not wait for it. `untilSettled`: due at send_settles_at, not before — a look-up found
   * nothing while a send of unknown outcome may still arrive, and only one after it is conclusive.
   */
  async retryLater(claim: ClaimToken, delayMs: number, reason: string, opts: { noSendPending?: boolean; untilSettled?: boolean } = {}): Promise<boolean | 'superseded'> {
    return this.orSupersededClose(claim, () => this.apply(
      `UPDATE orders SET status = 'pending', reason = $4, updated_at = now(),
              send_settles_at = CASE WHEN $5::boolean THEN NULL ELSE send_settles_at END,
              next_attempt_at = CASE WHEN $6::boolean THEN greatest(now(), send_settles_at)
                                     WHEN cancel_requested_at IS NULL OR cancel_requested_at < submitted_at THEN now() + $3::int * interval '1 millisecond'
                                     ELSE now() END
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts, delayMs, reason, opts.noSendPending === true, opts.untilSettled === true],
    ));
  }

  /**
   * `rejected` (the exchange or our validation said no), `failed` (gave up retrying) or `canceled`
   * (the placement rule said no; never sent). With `manager`, inside the caller's transaction.
   */
  async end(claim: ClaimToken, status: 'rejected' | 'failed' | 'canceled', reason: string, manager?: EntityManager): Promise<boolean> {
    return (await this.endMany([{ claim, status, reason }], manager)).has(claim.id);
  }

  /**
   * The user's cancel (POST /orders/{id}/cancel), one guarded UPDATE that takes the row lock: a
   * pending order never sent ends `canceled` here; any other unfinished order (claimed, possibly
   * sent, open on the exchange) is marked, and the one that acts on it next sees the mark under the
   * same lock — the placement decision cancels instead of sending, the cancel job cancels it on the
   * exchange. A claim that won the row first makes this statement see `submitting`, never both.
   * null: no unfinished order of this user with that id.
   */
  async requestCancel(userId: string, id: string): Promise<OrderRecord | null> {
    const rows = returnedRows<OrderRecord>(
      await this.ds.query(
        `UPDATE orders o SET
                status = CASE WHEN o.status = 'pending' AND o.sent_at IS NULL THEN 'canceled' ELSE o.status END,
                reason = CASE WHEN o.status = 'pending' AND o.sent_at IS NULL THEN $3 ELSE o.reason END,
                closed_at = CASE WHEN o.status = 'pending' AND o.sent_at IS NULL THEN now() ELSE o.closed_at END,
                cancel_requested_at = coalesce(o.cancel_requested_at, now()),
                -- Waiting to retry a placement that may have reached the exchange: looked up now, not after its
                -- backoff (found: recorded; not found before its send_settles_at: looked up again at that bound).
                next_attempt_at = CASE WHEN o.status = 'pending' THEN least(o.next_attempt_at, now()) ELSE o.next_attempt_at END,
                -- A repeat changes nothing.
                updated_at = CASE WHEN o.cancel_requested_at IS NULL THEN now() ELSE o.updated_at END
          WHERE o.id = $1 AND o.user_id = $2 AND o.status IN ('pending', 'submitting', 'open')
          RETURNING o.*`,
        [id, userId, USER_CANCELED_REASON],
      ),
    );
    return rows[0] ?? null;
  }

  /** The cancel job's attempt did not settle this open order: tried again after `delayMs`. */
  async cancelRetryLater(id: string, delayMs: number): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET cancel_retry_at = now() + $2::int * interval '1 millisecond' WHERE id = $1 AND status = 'open' RETURNING id`,
      [id, delayMs],
    );
  }

  /** Sync of an `open` order; unchanged rows are touched too so the sync rotates through all of them. */
  async syncOpen(id: string, o: OrderOutcome | null): Promise<boolean> {
    if (o === null) return this.apply(`UPDATE orders SET updated_at = now() WHERE id = $1 AND status = 'open' RETURNING id`, [id]);
    return (await this.syncOpenMany([{ id, outcome: o }])).has(id);
  }

  /**
   * syncOpen for many orders (the live batch's read-backs: LiveReadBacks); the ids that were still
   * `open`, with no more filled than read, and were written. One statement per round: a round
   * writes at most one order per bot, because the fills move bot_positions with one
   * INSERT … ON CONFLICT, which cannot touch a bot's row twice — two read-backs of one bot in one
   * statement (two buys of a bot placed in successive batches, read back together at a bar close)
   * failed the whole statement, every order in it then left unrecorded until the open-orders sync
   * came round. The others of that bot go in the next round (usually there is none).
   */
  async syncOpenMany(items: ReadonlyArray<{ id: string; outcome: OrderOutcome }>): Promise<Set<string>> {
    const written = new Set<string>();
    let round = items;
    while (round.length > 0) {
      const { ids, deferred } = await this.syncOpenRound(round);
      ids.forEach((id) => written.add(id));
      const next = new Set(deferred);
      round = round.filter((i) => next.has(i.id));
    }
    return written;
  }

  private async syncOpenRound(items: ReadonlyArray<{ id: string; outcome: OrderOutcome }>): Promise<{ ids: string[]; deferred: string[] }> {
    const result = (await this.ds.query(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::varchar[], $8::varchar[], $9::boolean[], $10::text[])
                AS v(id, status, filled, average, cost, fee, fee_currency, exchange_order_id, final, reason)
       ), firsts AS (
         -- One order per bot this round, its oldest first (an order's bot never changes: read unlocked); the others deferred.
         SELECT DISTINCT ON (o.bot_id) o.id FROM orders o JOIN v ON v.id = o.id WHERE o.bot_id IS NOT NULL ORDER BY o.bot_id, o.created_at, o.seq, o.id
       ), later AS (
         SELECT o.id FROM orders o JOIN v ON v.id = o.id WHERE o.bot_id IS NOT NULL AND o.id NOT IN (SELECT id FROM firsts)
       ), prev AS (
         -- An open order's fill only grows: a read answered before another one but written after it
         -- (two readers: this worker's read-back, another worker's sync) must not take it back.
         -- FOR UPDATE checks this again on the row as it is once locked.
         SELECT orders.id, ${PREVIOUS_FILL_COLUMNS_OF_ORDERS} FROM orders JOIN v ON v.id = orders.id
          WHERE orders.status = 'open' AND orders.filled <= v.filled AND orders.id NOT IN (SELECT id FROM later)
          ORDER BY orders.id FOR UPDATE OF orders
       ), changed AS (
         UPDATE orders o SET status = v.status, filled = v.filled, average = v.average, cost = v.cost, fee = v.fee, fee_currency = v.fee_currency,
                exchange_order_id = COALESCE(v.exchange_order_id, o.exchange_order_id), reason = v.reason,
                closed_at = CASE WHEN v.final THEN now() END, updated_at = now()
           FROM prev JOIN v ON v.id = prev.id WHERE o.id = prev.id
         RETURNING ${CHANGED_FILL_COLUMNS}
       ), ${MOVE_POSITIONS_CTE}
       SELECT id, false AS deferred FROM changed
       UNION ALL SELECT id, true FROM later`,
      [items.map((i) => i.id), ...outcomeArrays(items.map((i) => i.outcome))],
    )) as Array<{ id: string; deferred: boolean }>;
    return { ids: result.filter((r) => !r.deferred).map((r) => r.id), deferred: result.filter((r) => r.deferred).map((r) => r.id) };
  }

  private async apply(sql: string, params: unknown[], manager?: EntityManager): Promise<boolean> {
    return returnedRows<{ id: string }>(await (manager ?? this.ds.manager).query(sql, params)).length === 1;
  }
}
