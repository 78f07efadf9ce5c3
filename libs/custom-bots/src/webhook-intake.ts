import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, MicroBatcher, PreparedStatement } from '@torgovo/core';
import { acceptStatement, AcceptItem } from './webhook-accept-statements';

export type AcceptOutcome =
  /** Written: the claim, the pending order and the event row. */
  | { kind: 'accepted'; orderId: string }
  /** Nothing written: the dedupe key was taken (a repeat). */
  | { kind: 'taken' }
  /** Nothing written: the webhook, bot or user changed since the lookup (acceptStatement's gate). */
  | { kind: 'gate_closed' };

// Writes in flight at once per api process (each one statement on one pooled connection, leaving the
// rest of the pool to lookups and other requests), and alerts per statement.
const MAX_WRITES_IN_FLIGHT = 4;
const MAX_ALERTS_PER_WRITE = 500;

interface Row {
  event_id: string;
  gate_open: boolean;
  order_id: string | null;
}

/**
 * Writes accepted alerts. Alerts that arrive while earlier writes are in flight go together in one
 * statement (MicroBatcher: one round trip, one commit, one NOTIFY to the workers, one run of the
 * webhook_events counting trigger for all of them), so the database's per-commit costs — the WAL
 * flush, and the NOTIFY queue lock that PostgreSQL holds across it — are paid per batch rather than
 * per alert. A quiet moment's alert goes alone, at once.
 */
@Injectable()
export class WebhookIntake {
  private readonly logger = new Logger(WebhookIntake.name);
  private readonly batcher = new MicroBatcher<AcceptItem, AcceptOutcome>((items) => this.write(items), {
    maxBatch: MAX_ALERTS_PER_WRITE,
    maxInFlight: MAX_WRITES_IN_FLIGHT,
  });

  /** The accept statement's text is the same for any batch (arrays, one per column): prepared once per connection. */
  private readonly statement: PreparedStatement;

  constructor(@InjectDataSource() ds: DataSource, config: AppConfig) {
    this.statement = new PreparedStatement(ds, 'webhook_accept', !config.embedded);
  }

  accept(item: AcceptItem): Promise<AcceptOutcome> {
    return this.batcher.submit(item);
  }

  /**
   * One key twice in one statement would make its ON CONFLICT touch a row twice (an error): a later
   * copy goes in a statement after the first one's, and finds the key taken like any repeat.
   */
  private async write(items: AcceptItem[]): Promise<Array<AcceptOutcome | Error>> {
    const results = new Array<AcceptOutcome | Error>(items.length);
    let rest = items.map((item, index) => ({ item, index }));
    while (rest.length > 0) {
      const seen = new Set<string>();
      const now: typeof rest = [];
      const later: typeof rest = [];
      for (const x of rest) {
        const key = `${x.item.claim.webhookId}\u0000${x.item.claim.key}`;
        (seen.has(key) ? later : now).push(x);
        seen.add(key);
      }
      const written = await this.writeSet(now.map((x) => x.item));
      now.forEach((x, i) => (results[x.index] = written[i]));
      rest = later;
    }
    return results;
  }

  /** A failed batch is retried alert by alert, so one bad alert fails alone. */
  private async writeSet(items: AcceptItem[]): Promise<Array<AcceptOutcome | Error>> {
    try {
      const statement = acceptStatement(items, new Date());
      const rows = await this.statement.query<Row>(statement.sql, statement.params);
      const byEvent = new Map(rows.map((r) => [r.event_id, r]));
      return items.map((item): AcceptOutcome => {
        const row = byEvent.get(item.event.id);
        if (row?.order_id) return { kind: 'accepted', orderId: row.order_id };
        return row?.gate_open ? { kind: 'taken' } : { kind: 'gate_closed' };
      });
    } catch (error) {
      if (items.length === 1) return [error instanceof Error ? error : new Error(String(error))];
      this.logger.warn({ err: error instanceof Error ? error.message : String(error), alerts: items.length }, 'Batched accept failed; writing its alerts one by one');
      const out: Array<AcceptOutcome | Error> = [];
      for (const item of items) out.push(...(await this.writeSet([item])));
      return out;
    }
  }
}
