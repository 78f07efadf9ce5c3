// The chaos run's reconciliation, from the fake exchange's own record, the fake Stripe's record,
// what the driver saw (answers and their times) and our database. Every rule of issue 17:
//  1. every accepted alert has exactly one order on the exchange, or a recorded reason why not;
//     every answer to one alert named the same order;
//  2. no order on the exchange without an order row here, none twice;
//  3. no order reached the exchange after its bot's stop (or its keys' disconnect, or its
//     subscription's cancel) was answered, until the bot was started (keys reconnected) again;
//  4. every order's final status and fill match the exchange; none left pending/submitting;
//  5. every Stripe invoice paid is one completed payment here, applied once (one subscription period),
//     no subscription extended twice for one period; every event processed once;
//  6. the audit log has a row for each money event (payment completed, Stripe event);
//  7. no secret (keys, passphrases, webhook secrets, JWT/encryption/Stripe keys) in any process log.
import { Decimal } from 'decimal.js';
import type { Client } from 'pg';
import type { ExchangeRecordRow } from './fake-process';

export interface RunRecord {
  alerts: Array<{ alert_id: string; bot_id: string; answers: Array<{ status: number; order_id: string | null; error: string | null }> }>;
  /** A stop answered at answered_at; no order of the bot may arrive until start_sent_at. */
  stops: Array<{ bot_id: string; stop_status: number; answered_at: number; start_sent_at: number; start_status: number }>;
  disconnects: Array<{ user_id: string; status: number; answered_at: number; reconnect_sent_at: number; reconnect_status: number }>;
  cancels: Array<{ user_id: string; status: number; answered_at: number }>;
  stripe: { invoices: string[]; events: string[] };
  counts: Record<string, number>;
}

export interface Violation {
  kind: string;
  detail: string;
}

interface OrderRow {
  id: string;
  user_id: string;
  bot_id: string | null;
  client_order_id: string;
  status: string;
  filled: string;
  reason: string | null;
}

const EXCHANGE_TO_ROW: Record<string, string> = { live: 'open', partially_filled: 'open', filled: 'filled', canceled: 'canceled', order_failed: 'rejected' };

export async function reconcile(
  db: Client,
  run: RunRecord,
  exchange: ExchangeRecordRow[],
  paidInvoices: string[],
  refundedInvoices: string[],
  users: Array<{ id: string; api_key: string }>,
  secrets: string[],
  logs: Array<{ file: string; text: string }>,
): Promise<{ violations: Violation[]; counts: Record<string, number> }> {
  const violations: Violation[] = [];
  const v = (kind: string, detail: string) => violations.push({ kind, detail });
  const counts: Record<string, number> = {};
  const add = (k: string, n = 1) => (counts[k] = (counts[k] ?? 0) + n);

  const orders = (await db.query(`SELECT id, user_id, bot_id, client_order_id, status, filled::text, reason FROM orders`)).rows as OrderRow[];
  const byId = new Map(orders.map((o) => [o.id, o]));
  const byClientId = new Map(orders.map((o) => [o.client_order_id, o]));
  const onExchange = new Map<string, ExchangeRecordRow[]>();
  for (const e of exchange) onExchange.set(e.cl_ord_id, [...(onExchange.get(e.cl_ord_id) ?? []), e]);
  for (const o of orders) add(`orders.${o.status}`);
  add('exchange.orders', exchange.length);

  // 1. accepted alerts
  for (const a of run.alerts) {
    add('alerts');
    add(`alerts.sends_answered`, a.answers.length);
    for (const ans of a.answers) add(`alerts.answer.${ans.status}${ans.error ? `.${ans.error}` : ''}`);
    const ids = new Set(a.answers.filter((x) => x.status >= 200 && x.status < 300 && x.order_id).map((x) => x.order_id!));
    if (ids.size === 0) {
      // Never accepted (stopped bot, rotated secret, cancelled plan): no order may exist for it.
      if (a.answers.some((x) => x.status >= 500)) add('alerts.answered_5xx');
      add('alerts.not_accepted');
      continue;
    }
    add('alerts.accepted');
    if (ids.size > 1) v('alert_two_orders', `alert ${a.alert_id}: answers named orders ${[...ids].join(', ')}`);
    for (const id of ids) {
      const o = byId.get(id);
      if (!o) {
        v('accepted_alert_without_row', `alert ${a.alert_id}: order ${id} answered but not in the database`);
        continue;
      }
      const placed = onExchange.get(o.client_order_id) ?? [];
      if (placed.length === 0 && ['open', 'filled'].includes(o.status)) v('recorded_but_not_on_exchange', `alert ${a.alert_id}: order ${o.id} is ${o.status} but not on the exchange`);
      if (placed.length === 0 && ['canceled', 'rejected', 'failed'].includes(o.status) && !o.reason) v('no_reason', `alert ${a.alert_id}: order ${o.id} ${o.status} without a reason`);
      if (placed.length === 0 && ['canceled', 'rejected', 'failed'].includes(o.status)) add(`alerts.not_placed.${(o.reason ?? '').split(':')[0]}`);
      if (placed.length === 1) add('alerts.placed_once');
    }
  }

  // 2 and 4. the exchange's record against ours
  for (const [clOrdId, rows] of onExchange) {
    const o = byClientId.get(clOrdId);
    if (!o) {
      v('exchange_order_without_row', `client order id ${clOrdId} (exchange ${rows.map((r) => r.ord_id).join(', ')}) has no order row`);
      continue;
    }
    if (rows.length > 1) v('twice_on_exchange', `order ${o.id} (${clOrdId}) is ${rows.length} times on the exchange: ${rows.map((r) => r.ord_id).join(', ')}`);
    const e = rows[rows.length - 1];
    const expected = EXCHANGE_TO_ROW[e.state] ?? e.state;
    if (o.status !== expected) v('status_mismatch', `order ${o.id} (${clOrdId}) is ${o.status} here, ${e.state} on the exchange`);
    else if (!new Decimal(o.filled).eq(e.filled)) v('fill_mismatch', `order ${o.id} (${clOrdId}) filled ${o.filled} here, ${e.filled} on the exchange`);
  }
  for (const o of orders) {
    if (o.status === 'pending' || o.status === 'submitting') v('stuck', `order ${o.id} still ${o.status} after the drain`);
    if (['canceled', 'rejected', 'failed'].includes(o.status) && (onExchange.get(o.client_order_id)?.length ?? 0) > 0 && o.status !== 'canceled') {
      v('final_but_on_exchange', `order ${o.id} is ${o.status} (${o.reason}) but on the exchange`);
    }
  }

  // 3. nothing reaches the exchange after a stop, a disconnect or a cancel was answered
  const userOfKey = new Map(users.map((u) => [u.api_key, u.id]));
  for (const e of exchange) {
    const o = byClientId.get(e.cl_ord_id);
    const userId = o?.user_id ?? userOfKey.get(e.api_key);
    for (const s of run.stops) {
      if (s.stop_status !== 200 || o?.bot_id !== s.bot_id) continue;
      if (e.arrived_at > s.answered_at && e.arrived_at < s.start_sent_at) {
        v('after_stop', `order ${o?.id} (${e.cl_ord_id}) reached the exchange ${e.arrived_at - s.answered_at} ms after bot ${s.bot_id}'s stop was answered`);
      }
    }
    for (const d of run.disconnects) {
      if (d.status !== 204 || d.user_id !== userId) continue;
      if (e.arrived_at > d.answered_at && e.arrived_at < d.reconnect_sent_at) {
        v('after_disconnect', `order ${o?.id} (${e.cl_ord_id}) reached the exchange ${e.arrived_at - d.answered_at} ms after user ${userId}'s keys were disconnected`);
      }
    }
    for (const c of run.cancels) {
      if (c.status === 200 && c.user_id === userId && e.arrived_at > c.answered_at) {
        v('after_cancel', `order ${o?.id} (${e.cl_ord_id}) reached the exchange ${e.arrived_at - c.answered_at} ms after user ${userId}'s subscription was cancelled`);
      }
    }
  }
  add('stops_answered', run.stops.filter((s) => s.stop_status === 200).length);
  add('disconnects_answered', run.disconnects.filter((d) => d.status === 204).length);
  add('cancels_answered', run.cancels.filter((c) => c.status === 200).length);

  // 5 and 6. Stripe: each paid invoice applied once, each event once, audited
  const payments = (await db.query(`SELECT id, stripe_invoice_id, status FROM payments WHERE provider = 'stripe' AND stripe_invoice_id IS NOT NULL`)).rows as Array<{ id: string; stripe_invoice_id: string; status: string }>;
  const periods = (await db.query(`SELECT subscription_id, payment_reference, period_start FROM subscription_periods WHERE provider = 'stripe'`)).rows as Array<{ subscription_id: string; payment_reference: string; period_start: Date }>;
  const audits = (await db.query(
    `SELECT event_type, data->>'payment_id' AS payment_id, data->>'event_id' AS event_id FROM audit_logs WHERE event_type IN ('payment.completed', 'payment.stripe_event')`,
  )).rows as Array<{ event_type: string; payment_id: string | null; event_id: string | null }>;
  const processed = (await db.query(`SELECT event_id FROM processed_events WHERE provider = 'stripe'`)).rows as Array<{ event_id: string }>;
  // Invoices that collected money (a trial's $0 first invoice extends nothing).
  for (const invoice of new Set(paidInvoices)) {
    add('stripe.invoices_paid');
    const rows = payments.filter((p) => p.stripe_invoice_id === invoice);
    if (rows.length !== 1 || rows[0].status !== 'completed') {
      v('payment_not_applied_once', `invoice ${invoice}: ${rows.length} payment rows (${rows.map((r) => `${r.id} ${r.status}`).join(', ')})`);
      continue;
    }
    const applied = periods.filter((p) => p.payment_reference === invoice).length;
    const refunds = refundedInvoices.filter((r) => r === invoice).length;
    // Paid for a subscription that had ended meanwhile (cancelled while Stripe billed it): not
    // applied, the money given back once.
    if (applied === 0 && refunds === 1) add('stripe.invoices_refunded_not_applied');
    else if (refunds > 0) v('refund', `invoice ${invoice}: applied ${applied} times and refunded ${refunds} times`);
    else if (applied !== 1) v('period_not_applied_once', `invoice ${invoice} (payment ${rows[0].id}): applied ${applied} times`);
    const audited = audits.filter((a) => a.event_type === 'payment.completed' && a.payment_id === rows[0].id).length;
    if (audited !== 1) v('payment_audit', `payment ${rows[0].id} (invoice ${invoice}): ${audited} payment.completed audit rows`);
  }
  const seenPeriods = new Map<string, number>();
  for (const p of periods) {
    const key = `${p.subscription_id} ${p.period_start.toISOString()}`;
    seenPeriods.set(key, (seenPeriods.get(key) ?? 0) + 1);
  }
  for (const [key, n] of seenPeriods) if (n > 1) v('extended_twice', `subscription/period ${key} applied ${n} times`);
  for (const eventId of new Set(run.stripe.events)) {
    add('stripe.events');
    const n = processed.filter((p) => p.event_id === eventId).length;
    if (n !== 1) v('event_not_processed_once', `Stripe event ${eventId}: processed ${n} times`);
    const audited = audits.filter((a) => a.event_type === 'payment.stripe_event' && a.event_id === eventId).length;
    if (audited !== 1) v('event_audit', `Stripe event ${eventId}: ${audited} payment.stripe_event audit rows`);
  }

  // 7. secrets in logs
  for (const { file, text } of logs) {
    add('log_bytes', text.length);
    for (const s of secrets) if (s.length >= 8 && text.includes(s)) v('secret_in_log', `${file} contains a secret (${s.slice(0, 3)}…)`);
  }
  return { violations, counts };
}
