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
              exchange_order_id = COALESCE($9, exchange_order_id), reason = CASE WHEN $3::varchar = 'rejected' THEN reason END,
              closed_at = CASE WHEN $10::boolean THEN now() END, updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2
        RETURNING id`,
      [claim.id, claim.attempts, o.status, o.filled, o.average, o.cost, o.fee, o.fee_currency, o.exchange_order_id, o.final],
    );
  }

  /**
   * What a quote_percent order resolved to, written before it is sent: the user sees what it spends
   * even if the answer is lost, and a worker whose lease has passed learns it here, before placing.
   */
  resolveQuote(claim: ClaimToken, quoteAmount: string): Promise<boolean> {
    return this.apply(
      `UPDATE orders SET quote_amount = $3, updated_at = now()
        WHERE id = $1 AND status = 'submitting' AND attempts = $2 AND quote_percent IS NOT NULL
        RETURNING id`,
      [claim.id, claim.attempts, quoteAmount],
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
              exchange_order_id = COALESCE($8, exchange_order_id), closed_at = CASE WHEN $9::boolean THEN now() END, updated_at = now()
        WHERE id = $1 AND status = 'open'
        RETURNING id`,
      [id, o.status, o.filled, o.average, o.cost, o.fee, o.fee_currency, o.exchange_order_id, o.final],
    );
  }

  private async apply(sql: string, params: unknown[]): Promise<boolean> {
    return returnedRows<{ id: string }>(await this.ds.query(sql, params)).length === 1;
  }
}
