import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { returnedRows } from './order-claimer';
import type { OrderOutcome } from './order-outcome';

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

  /** The exchange's view of the order after placing or reconciling it. */
  record(claim: ClaimToken, o: OrderOutcome): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET status = $3, filled = $4, average = $5, cost = $6, fee = $7, fee_currency = $8,
              exchange_order_id = COALESCE($9, exchange_order_id), reason = $11,
              closed_at = CASE WHEN $10::boolean THEN now() END, updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts, o.status, o.filled, o.average, o.cost, o.fee, o.fee_currency, o.exchange_order_id, o.final, o.reason],
    );
  }

  /**
   * Right before an order is sent: the claim is still ours — same attempt, lease not passed (the
   * claimer's own test for "busy") — and its lease is renewed for the placement call. No row: another
   * worker may own the order now, so nothing may be sent. A quote_percent order's resolved budget
   * (`quoteAmount`, null otherwise) is written in the same statement.
   */
  confirmClaim(claim: ClaimToken, leaseMs: number, quoteAmount: string | null): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET next_attempt_at = now() + $3::int * interval '1 millisecond',
              quote_amount = CASE WHEN quote_percent IS NOT NULL THEN COALESCE($4::numeric, quote_amount) ELSE quote_amount END,
              updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2 AND next_attempt_at > now()
        RETURNING id`,
      [claim.id, claim.attempts, leaseMs, quoteAmount],
    );
  }

  /**
   * A claim given back unused (the worker is stopping): pending and due at once, as if never claimed,
   * so the next claim does not spend an attempt on a look-up of an order nobody sent.
   */
  release(claim: ClaimToken): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET status = 'pending', attempts = attempts - 1, next_attempt_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts],
    );
  }

  /** Transient failure: back to the queue after `delayMs`, keeping the reason for the user to see. */
  retryLater(claim: ClaimToken, delayMs: number, reason: string): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET status = 'pending', next_attempt_at = now() + $3::int * interval '1 millisecond', reason = $4, updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts, delayMs, reason],
    );
  }

  /** `rejected` (the exchange or our validation said no) or `failed` (gave up retrying). */
  end(claim: ClaimToken, status: 'rejected' | 'failed', reason: string): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET status = $3, reason = $4, closed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts, status, reason],
    );
  }

  /** Sync of an `open` order; unchanged rows are touched too so the sync rotates through all of them. */
  syncOpen(id: string, o: OrderOutcome | null): Promise<boolean> {
    if (o === null) return this.apply(`UPDATE orders SET updated_at = now() WHERE id = $1 AND status = 'open' RETURNING id`, [id]);
    return this.apply(
      `UPDATE orders SET status = $2, filled = $3, average = $4, cost = $5, fee = $6, fee_currency = $7,
              exchange_order_id = COALESCE($8, exchange_order_id), reason = $10, closed_at = CASE WHEN $9::boolean THEN now() END, updated_at = now()
        WHERE id = $1 AND status = 'open'
        RETURNING id`,
      [id, o.status, o.filled, o.average, o.cost, o.fee, o.fee_currency, o.exchange_order_id, o.final, o.reason],
    );
  }

  private async apply(sql: string, params: unknown[]): Promise<boolean> {
    return returnedRows<{ id: string }>(await this.ds.query(sql, params)).length === 1;
  }
}
