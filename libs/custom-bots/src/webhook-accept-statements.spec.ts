import type { NewOrder } from '@torgovo/trading';
import { acceptStatement, DedupeClaim, duplicateStatement, Statement } from './webhook-accept-statements';
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
const claim: DedupeClaim = { webhookId: 'w', botId: 'b', secretHash: 'h', key: 'a:k', expiresAt: null, now: new Date(0) };

/** Every $n used exactly matches the parameter list: PostgreSQL rejects unused or missing ones. */
function placeholders(s: Statement): number[] {
  return [...new Set([...s.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

describe('webhook accept statements', () => {
  it.each([
    ['accept with claim', acceptStatement(order, event, claim)],
    ['accept without claim', acceptStatement(order, event, null)],
    ['duplicate', duplicateStatement({ ...event, outcome: 'duplicate', status_code: 200 }, 'w', 'a:k')],
  ])('%s numbers its parameters 1..n', (_, s) => {
    expect(placeholders(s)).toEqual(s.params.map((_, i) => i + 1));
  });

  it('writes the order only from a successful claim, and the event only from the order', () => {
    const { sql } = acceptStatement(order, event, claim);
    expect(sql).toMatch(/INSERT INTO orders[\s\S]*FROM claim/);
    // The claim is taken only through the gate: the bot running, the webhook active, both share-locked.
    expect(sql).toMatch(/gate AS \(SELECT 1 FROM bots b JOIN bot_webhooks w[\s\S]*FOR SHARE OF b, w\)/);
    expect(sql).toMatch(/INSERT INTO webhook_dedupe[\s\S]*FROM gate/);
    expect(sql).toMatch(/INSERT INTO webhook_events[\s\S]*FROM new_order/);
    expect(acceptStatement(order, event, null).sql).not.toContain('claim');
  });

  it('writes every sizing column of the order, a live percent buy included', () => {
    const percentBuy: NewOrder = { ...order, mode: 'live', exchange: 'okx', amount: null, quote_percent: '50' };
    const s = acceptStatement(percentBuy, event, claim);
    expect(s.sql).toMatch(/INSERT INTO orders \([^)]*\bamount, quote_amount, quote_percent\b/);
    expect(s.params).toContain('50');
  });
});
