import { pgArrayLiteral } from '@torgovo/core';
import { NewOrder, PENDING_ORDER_COLUMNS, PENDING_ORDER_SQL_TYPES, pendingOrderColumnArrays } from '@torgovo/trading';
import { WEBHOOK_EVENT_COLUMNS, webhookEventValues, WebhookEventRow } from './webhook-event-log';

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface DedupeClaim {
  webhookId: string;
  /** The gate: the claim is taken only while this bot is running and this webhook active under this secret (acceptStatement). */
  botId: string;
  secretHash: string;
  key: string;
  /** null: an alert_id key, kept forever; a date: a body key, taken over once expired. */
  expiresAt: Date | null;
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
 * The row versions (PostgreSQL's `xmin`: a new one with every committed UPDATE) of what the receive
 * path decided from — the webhook, its bot, the user, the custom_bot subscription and its plan. The
 * write goes ahead only while all five rows are the versions that were read: optimistic concurrency
 * with `xmin` as the row version, as Npgsql/EF Core use it.
 */
export interface RowVersions {
  webhook: string;
  bot: string;
  user: string;
  subscription_id: string;
  subscription: string;
  plan: string;
}

/** One accepted alert, for acceptStatement. */
export interface AcceptItem {
  order: NewOrder;
  /** Its event row (accepted, 202); order_id is filled in by the statement. */
  event: WebhookEventRow;
  claim: DedupeClaim;
  versions: RowVersions;
}

/** SQL types of the event columns the statement writes from arrays (all but order_id). */
const EVENT_SQL_TYPES: Record<Exclude<(typeof WEBHOOK_EVENT_COLUMNS)[number], 'order_id'>, string> = {
  id: 'uuid',
  webhook_id: 'uuid',
  bot_id: 'uuid',
  received_at: 'timestamptz',
  ip: 'varchar',
  outcome: 'varchar',
  status_code: 'int2',
  reason: 'varchar',
  message: 'text',
  body: 'text',
  body_bytes: 'int4',
};
const EVENT_COLUMNS = Object.keys(EVENT_SQL_TYPES) as Array<keyof typeof EVENT_SQL_TYPES>;

/**
 * `unnest($a::t1[], $b::t2[], …) AS alias(c1, c2, …)` over one array per column, each passed as its
 * array literal (pgArrayLiteral: a fraction of what node-postgres allocates to serialize it).
 */
function unnestOf(p: Params, alias: string, columns: readonly string[], types: readonly string[], arrays: unknown[][], ordinality = false): string {
  const unnest = `unnest(${arrays.map((a, i) => `${p.add(pgArrayLiteral(a))}::${types[i]}[]`).join(', ')})`;
  return ordinality ? `${unnest} WITH ORDINALITY AS ${alias}(${columns.join(', ')}, ord)` : `${unnest} AS ${alias}(${columns.join(', ')})`;
}

const INPUT_COLUMNS = ['event_id', 'webhook_id', 'bot_id', 'secret_hash', 'dedupe_key', 'expires_at', 'webhook_v', 'bot_v', 'user_v', 'sub_id', 'sub_v', 'plan_v'];
const INPUT_TYPES = ['uuid', 'uuid', 'uuid', 'varchar', 'varchar', 'timestamptz', 'text', 'text', 'text', 'uuid', 'text', 'text'];

/**
 * One statement — one round trip, one commit, atomic without BEGIN/COMMIT — that writes a batch of
 * accepted alerts (WebhookIntake groups the alerts that arrive together). Per alert:
 *  - the gate: the webhook is still active under this secret, its bot running and not deleted, its
 *    user active, and none of the rows the alert was decided from changed since they were read
 *    (RowVersions: the receive path may have decided from a cached lookup). Read at write time,
 *    without locks: whatever committed before this
 *    statement began (a stop, rotation, deactivation that was answered) closes it. A change committing
 *    while it runs does not wait for it: that order is left to the executor's placement rule, which
 *    cancels it with the reason before anything is sent.
 *  - the dedupe claim, taken only through the gate (rows in key order, so two batches never deadlock;
 *    the caller never puts one key twice in a statement). A concurrent copy blocks on the unique key
 *    until the first commits, then finds it taken; an expired body key (past its window, see
 *    webhook-repeat.ts) is taken over.
 *  - the pending order, only from a claim taken, and its event row pointing at it.
 * Returns one row per alert: `gate_open`, and `order_id` when written (gate open and no order: the
 * key was taken, a duplicate).
 */
export function acceptStatement(items: readonly AcceptItem[], now: Date): Statement {
  const p = new Params();
  const input = unnestOf(p, 'i', INPUT_COLUMNS, INPUT_TYPES, [
    items.map((x) => x.event.id),
    items.map((x) => x.claim.webhookId),
    items.map((x) => x.claim.botId),
    items.map((x) => x.claim.secretHash),
    items.map((x) => x.claim.key),
    items.map((x) => x.claim.expiresAt),
    items.map((x) => x.versions.webhook),
    items.map((x) => x.versions.bot),
    items.map((x) => x.versions.user),
    items.map((x) => x.versions.subscription_id),
    items.map((x) => x.versions.subscription),
    items.map((x) => x.versions.plan),
  ]);
  const orders = unnestOf(
    p,
    'o',
    PENDING_ORDER_COLUMNS,
    PENDING_ORDER_COLUMNS.map((c) => PENDING_ORDER_SQL_TYPES[c]),
    pendingOrderColumnArrays(items.map((x) => x.order)),
    true,
  );
  const events = unnestOf(
    p,
    'e',
    EVENT_COLUMNS,
    EVENT_COLUMNS.map((c) => EVENT_SQL_TYPES[c]),
    EVENT_COLUMNS.map((c) => items.map((x) => x.event[c])),
  );
  const sql = `WITH input AS (
    SELECT * FROM ${input}
  ), gate AS (
    SELECT i.event_id, i.webhook_id, i.dedupe_key, i.expires_at FROM input i
      JOIN bot_webhooks w ON w.id = i.webhook_id AND w.xmin::text = i.webhook_v AND w.bot_id = i.bot_id AND w.is_active AND w.secret_hash = i.secret_hash
      JOIN bots b ON b.id = i.bot_id AND b.xmin::text = i.bot_v AND b.status = 'running' AND b.deleted_at IS NULL
      JOIN users u ON u.id = w.user_id AND u.xmin::text = i.user_v AND u.is_active
      JOIN user_subscriptions s ON s.id = i.sub_id AND s.xmin::text = i.sub_v
      JOIN subscription_plans p ON p.id = s.plan_id AND p.xmin::text = i.plan_v
  ), claim AS (
    INSERT INTO webhook_dedupe (webhook_id, dedupe_key, event_id, expires_at)
    SELECT webhook_id, dedupe_key, event_id, expires_at FROM gate ORDER BY webhook_id, dedupe_key
    ON CONFLICT (webhook_id, dedupe_key) DO UPDATE SET event_id = EXCLUDED.event_id, expires_at = EXCLUDED.expires_at
     WHERE webhook_dedupe.expires_at IS NOT NULL AND webhook_dedupe.expires_at <= ${p.add(now)}::timestamptz
    RETURNING event_id
  ), new_order AS (
    -- In arrival order (the intake keeps it): orders.seq is drawn row by row as they are inserted, and
    -- the queue runs a user's orders by (created_at, seq) — created_at is this statement's start for
    -- all of them, so two alerts of one bot in this batch (a buy, then a close) keep their order.
    INSERT INTO orders (${PENDING_ORDER_COLUMNS.join(', ')})
    SELECT ${PENDING_ORDER_COLUMNS.map((c) => `o.${c}`).join(', ')} FROM ${orders} JOIN claim ON claim.event_id::text = o.source_ref ORDER BY o.ord
    RETURNING id, source_ref
  ), event AS (
    INSERT INTO webhook_events (${EVENT_COLUMNS.join(', ')}, order_id)
    SELECT e.*, new_order.id FROM ${events} JOIN new_order ON new_order.source_ref = e.id::text
    RETURNING id, order_id
  )
  SELECT i.event_id, (g.event_id IS NOT NULL) AS gate_open, event.order_id
    FROM input i LEFT JOIN gate g ON g.event_id = i.event_id LEFT JOIN event ON event.id = i.event_id`;
  return { sql, params: p.values };
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
