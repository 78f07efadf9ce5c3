import { NewOrder, PENDING_ORDER_COLUMNS, pendingOrderValues } from '@torgovo/trading';
import { WEBHOOK_EVENT_COLUMNS, webhookEventValues, WebhookEventRow } from './webhook-event-log';

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface DedupeClaim {
  webhookId: string;
  /** The gate: the claim is taken only while this bot is running and this webhook active under this secret. */
  botId: string;
  secretHash: string;
  key: string;
  /** null: an alert_id key, kept forever; a date: a body key, taken over once expired. */
  expiresAt: Date | null;
  now: Date;
}

/** Collects parameters and hands out their placeholders, so a composed statement stays readable. */
class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  list(values: readonly unknown[]): string {
    return values.map((v) => this.add(v)).join(', ');
  }
}

/**
 * The dedupe claim, returning a row only when this request took the key. A concurrent copy
 * blocks on the unique key until the first commits, then finds it taken; an expired body key
 * (past its window, see webhook-repeat.ts) is taken over.
 */
function claimSql(p: Params, c: DedupeClaim, eventId: string): string {
  return `INSERT INTO webhook_dedupe (webhook_id, dedupe_key, event_id, expires_at)
    SELECT ${p.list([c.webhookId, c.key, eventId])}, ${p.add(c.expiresAt)}::timestamptz FROM gate
    ON CONFLICT (webhook_id, dedupe_key) DO UPDATE SET event_id = EXCLUDED.event_id, expires_at = EXCLUDED.expires_at
     WHERE webhook_dedupe.expires_at IS NOT NULL AND webhook_dedupe.expires_at <= ${p.add(c.now)}
    RETURNING event_id`;
}

/**
 * The bot and webhook rows, read again at write time and share-locked until commit: an alert whose
 * lookup saw the bot running writes nothing once a stop (user, subscription end, deactivation,
 * delete) or a rotation/deactivation of the webhook has committed, and a stop that comes later
 * waits for this alert's commit. So "POST /stop answered" means no order from an alert after it.
 */
function gateSql(p: Params, c: DedupeClaim): string {
  return `SELECT 1 FROM bots b JOIN bot_webhooks w ON w.bot_id = b.id
     WHERE b.id = ${p.add(c.botId)} AND b.status = 'running' AND b.deleted_at IS NULL
       AND w.id = ${p.add(c.webhookId)} AND w.is_active AND w.secret_hash = ${p.add(c.secretHash)}
     FOR SHARE OF b, w`;
}

/**
 * One statement — one round trip, atomic without BEGIN/COMMIT — that writes the accepted
 * alert: the dedupe claim (when `claim` is given), the pending order, and the event row that
 * points at it. Returns one row (`order_id`) when written; none when the claim found the key
 * taken (a duplicate) or the gate closed (bot stopped, webhook rotated): nothing was written.
 * Without `claim` the caller has already claimed the key in its transaction.
 */
export function acceptStatement(order: NewOrder, event: WebhookEventRow, claim: DedupeClaim | null): Statement {
  const p = new Params();
  const ctes: string[] = [];
  if (claim) ctes.push(`gate AS (${gateSql(p, claim)})`, `claim AS (${claimSql(p, claim, event.id)})`);
  const eventColumns = WEBHOOK_EVENT_COLUMNS.filter((c) => c !== 'order_id');
  const eventValues = webhookEventValues(event).filter((_, i) => WEBHOOK_EVENT_COLUMNS[i] !== 'order_id');
  ctes.push(`new_order AS (
    INSERT INTO orders (${PENDING_ORDER_COLUMNS.join(', ')})
    SELECT ${p.list(pendingOrderValues(order))}${claim ? ' FROM claim' : ''}
    RETURNING id
  )`);
  ctes.push(`event AS (
    INSERT INTO webhook_events (${eventColumns.join(', ')}, order_id)
    SELECT ${p.list(eventValues)}, new_order.id FROM new_order
    RETURNING order_id
  )`);
  return { sql: `WITH ${ctes.join(',\n')}\nSELECT order_id FROM event`, params: p.values };
}

/**
 * A duplicate's own event row, pointing at the first alert's order, in one statement that also
 * returns that order id. Run as a new statement after the claim failed: a copy that was
 * concurrent with the first is visible by then (the claim waited for its commit).
 */
export function duplicateStatement(event: WebhookEventRow, webhookId: string, key: string): Statement {
  const p = new Params();
  const eventColumns = WEBHOOK_EVENT_COLUMNS.filter((c) => c !== 'order_id');
  const eventValues = webhookEventValues(event).filter((_, i) => WEBHOOK_EVENT_COLUMNS[i] !== 'order_id');
  const sql = `INSERT INTO webhook_events (${eventColumns.join(', ')}, order_id)
    SELECT ${p.list(eventValues)}, first.order_id
      FROM webhook_dedupe d JOIN webhook_events first ON first.id = d.event_id
     WHERE d.webhook_id = ${p.add(webhookId)} AND d.dedupe_key = ${p.add(key)}
    RETURNING order_id`;
  return { sql, params: p.values };
}
