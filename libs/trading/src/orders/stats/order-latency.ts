import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { OrderMode } from '../entities/order.entity';

export interface LatencyPercentiles {
  /** Orders that have both timestamps of this span. */
  samples: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface OrderLatency {
  /** Orders received (created) in [from, to). */
  from: string;
  to: string;
  window_hours: number;
  /** Alert accepted → placement fenced (sent_at): queueing, claim, the placement rule. */
  received_to_sent: LatencyPercentiles;
  /** Sent → the exchange's answer recorded (acknowledged_at). */
  sent_to_acknowledged: LatencyPercentiles;
  /** Alert accepted → filled (closed_at of a filled order). */
  received_to_filled: LatencyPercentiles;
}

const SPANS = ['received_to_sent', 'sent_to_acknowledged', 'received_to_filled'] as const;

/**
 * The platform's order latency by percentile over the last `hours` (orders by created_at, through
 * orders_created_idx), in one statement: percentile_cont ignores the rows a span does not apply to
 * (its expression is null), so the three spans share one scan. The timestamps are the order's
 * timeline (OrderResponse.timeline), each set by the one transition that makes it true.
 */
@Injectable()
export class OrderLatencyStats {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async lastHours(hours: number, mode?: OrderMode): Promise<OrderLatency> {
    const ms = (span: string) => `extract(epoch FROM ${span}) * 1000`;
    const exprs: Record<(typeof SPANS)[number], string> = {
      received_to_sent: ms('sent_at - created_at'),
      sent_to_acknowledged: ms('acknowledged_at - sent_at'),
      received_to_filled: ms(`CASE WHEN status = 'filled' THEN closed_at - created_at END`),
    };
    const [row] = (await this.ds.query(
      `SELECT now() - make_interval(hours => $1) AS "from", now() AS "to",
              ${SPANS.map((s) => `count(${exprs[s]})::int AS ${s}_n, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ${exprs[s]}) AS ${s}_p`).join(',\n              ')}
         FROM orders WHERE created_at >= now() - make_interval(hours => $1) AND ($2::varchar IS NULL OR mode = $2)`,
      [hours, mode ?? null],
    )) as Array<Record<string, unknown> & { from: Date; to: Date }>;
    const pick = (s: (typeof SPANS)[number]): LatencyPercentiles => {
      const p = row[`${s}_p`] as Array<number | null> | null;
      const at = (i: number) => (p?.[i] == null ? null : Math.round(Number(p[i])));
      return { samples: Number(row[`${s}_n`]), p50_ms: at(0), p95_ms: at(1), p99_ms: at(2) };
    };
    return {
      from: row.from.toISOString(),
      to: row.to.toISOString(),
      window_hours: hours,
      received_to_sent: pick('received_to_sent'),
      sent_to_acknowledged: pick('sent_to_acknowledged'),
      received_to_filled: pick('received_to_filled'),
    };
  }
}
