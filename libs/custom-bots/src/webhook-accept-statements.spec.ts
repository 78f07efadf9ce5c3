import type { NewOrder } from '@torgovo/trading';
import { AcceptItem, acceptStatement, DedupeClaim, duplicateStatement, RowVersions, Statement } from './webhook-accept-statements';
import type { WebhookEventRow } from './webhook-event-log';

const order: NewOrder = {
  user_id: 'u',
  bot_id: 'b',
  source: 'webhook',
  source_ref: 'e1',
  mode: 'paper',
  exchange: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount: '0.001',
};
const event: WebhookEventRow = {
  id: 'e1',
  webhook_id: 'w',
  bot_id: 'b',
  received_at: new Date(0),
  ip: '127.0.0.1',
  outcome: 'accepted',
  status_code: 202,
  reason: null,
  message: null,
  order_id: null,
  body: '{}',
  body_bytes: 2,
};
const claim: DedupeClaim = { webhookId: 'w', botId: 'b', secretHash: 'h', key: 'a:k', expiresAt: null };
const versions: RowVersions = { webhook: '1', bot: '2', user: '3', subscription_id: 's', subscription: '4', plan: '5' };
const item: AcceptItem = { order, event, claim, versions };

/** Every $n used exactly matches the parameter list: PostgreSQL rejects unused or missing ones. */
function placeholders(s: Statement): number[] {
  return [...new Set([...s.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

describe('webhook accept statements', () => {
  it.each([
    ['accept, one alert', acceptStatement([item], new Date(0))],
    ['accept, a batch', acceptStatement([item, { ...item, event: { ...event, id: 'e2' }, order: { ...order, source_ref: 'e2' } }], new Date(0))],
    ['duplicate', duplicateStatement({ ...event, outcome: 'duplicate', status_code: 200 }, 'w', 'a:k')],
  ])('%s numbers its parameters 1..n', (_, s) => {
    expect(placeholders(s)).toEqual(s.params.map((_, i) => i + 1));
  });

  it('a batch is one array per column: the statement does not grow with the batch', () => {
    const one = acceptStatement([item], new Date(0));
    const many = acceptStatement(Array.from({ length: 50 }, (_, i) => ({ ...item, event: { ...event, id: `e${i}` } })), new Date(0));
    expect(many.sql).toBe(one.sql);
    expect(many.params.length).toBe(one.params.length);
  });

  it('writes the order only from a claim taken through the gate, and the event only from the order', () => {
    const { sql } = acceptStatement([item], new Date(0));
    // The gate re-reads the webhook (active, this secret), the bot (running), the user (active), the subscription and plan, each at the version read; no locks.
    expect(sql).toMatch(
      /gate AS \([\s\S]*JOIN bot_webhooks w[\s\S]*w\.xmin::text = i\.webhook_v[\s\S]*w\.is_active AND w\.secret_hash = i\.secret_hash[\s\S]*JOIN bots b[\s\S]*b\.xmin::text = i\.bot_v AND b\.status = 'running'[\s\S]*JOIN users u[\s\S]*u\.xmin::text = i\.user_v AND u\.is_active[\s\S]*JOIN user_subscriptions s[\s\S]*s\.xmin::text = i\.sub_v[\s\S]*JOIN subscription_plans p[\s\S]*p\.xmin::text = i\.plan_v/,
    );
    expect(sql).not.toContain('FOR SHARE');
    expect(sql).toMatch(/INSERT INTO webhook_dedupe[\s\S]*FROM gate ORDER BY webhook_id, dedupe_key/);
    expect(sql).toMatch(/INSERT INTO orders[\s\S]*JOIN claim/);
    expect(sql).toMatch(/INSERT INTO webhook_events[\s\S]*JOIN new_order/);
  });

  it('writes every sizing column of the order, a live percent buy included', () => {
    const percentBuy: NewOrder = { ...order, mode: 'live', exchange: 'okx', amount: null, quote_percent: '50' };
    const s = acceptStatement([{ ...item, order: percentBuy }], new Date(0));
    expect(s.sql).toMatch(/INSERT INTO orders \([^)]*\bamount, quote_amount, quote_percent\b/);
    expect(s.params).toContain('{"50"}');
  });
});
