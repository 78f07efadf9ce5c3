import { notificationFor } from './event-notifications';
import { cursorAfter, encodeCursor, parseCursor, UserEvent } from './user-event-feed';

const event = (type: UserEvent['type'], data: Record<string, unknown>): UserEvent => ({
  cursor: { xid: 10n, id: 3n },
  user_id: 'u1',
  type,
  entity_id: 'e1',
  data,
  created_at: new Date(),
});

describe('notificationFor', () => {
  it('tells a fill once per order', () => {
    const n = notificationFor(event('order.updated', { status: 'filled', previous_status: 'submitting', symbol: 'BTC/USDT' }));
    expect(n).toMatchObject({ user_id: 'u1', kind: 'order_filled', dedupe_key: 'order_filled:e1' });
    // A later update of an order already filled (or a partial fill of an open one) is not a new fill.
    expect(notificationFor(event('order.updated', { status: 'filled', previous_status: 'filled' }))).toBeNull();
    expect(notificationFor(event('order.updated', { status: 'open', previous_status: 'open', filled: '0.5' }))).toBeNull();
  });

  it('tells rejected, failed and system cancels, not the user’s own cancel', () => {
    for (const status of ['rejected', 'failed']) {
      expect(notificationFor(event('order.updated', { status, previous_status: 'submitting', reason: 'insufficient funds' }))?.kind).toBe('order_rejected');
    }
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'submitting', reason: 'Bot is stopped' }))?.kind).toBe('order_rejected');
    // The reasons the order path writes for the user's own cancel (placement rule, OrderCancels).
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'pending', reason: 'user_canceled: canceled by the user before it was sent' }))).toBeNull();
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'open', reason: "user_canceled: canceled on the exchange at the user's request" }))).toBeNull();
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'pending', reason: 'superseded: a newer position alert was applied' }))).toBeNull();
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'pending', reason: 'bot_stopped: the bot was stopped' }))?.kind).toBe('order_rejected');
    expect(notificationFor(event('order.updated', { status: 'canceled', previous_status: 'pending', reason: 'user_inactive: the account is deactivated' }))?.kind).toBe('order_rejected');
  });

  it('tells a bot stopped by the platform, each time, and not one the user stopped', () => {
    const n = notificationFor(event('bot.updated', { status: 'stopped', previous_status: 'running', stop_reason: 'subscription_expired' }));
    expect(n).toMatchObject({ kind: 'bot_stopped', dedupe_key: 'bot_stopped:10-3' });
    expect(notificationFor(event('bot.updated', { status: 'stopped', previous_status: 'running', stop_reason: 'user' }))).toBeNull();
    expect(notificationFor(event('bot.updated', { status: 'running', previous_status: 'stopped' }))).toBeNull();
  });

  it('tells a failed payment with the payments lib’s own key', () => {
    expect(notificationFor(event('payment.updated', { status: 'failed', previous_status: 'pending' }))).toMatchObject({
      kind: 'payment_failed',
      dedupe_key: 'payment_failed:e1',
    });
    expect(notificationFor(event('subscription.updated', { status: 'active' }))).toBeNull();
    expect(notificationFor(event('user.deactivated', {}))).toBeNull();
  });
});

describe('feed cursors', () => {
  it('round-trip and order by (xid, id)', () => {
    const c = parseCursor('123456789012-42');
    expect(c).toEqual({ xid: 123456789012n, id: 42n });
    expect(encodeCursor(c!)).toBe('123456789012-42');
    expect(cursorAfter({ xid: 2n, id: 1n }, { xid: 1n, id: 99n })).toBe(true);
    expect(cursorAfter({ xid: 1n, id: 5n }, { xid: 1n, id: 5n })).toBe(false);
  });

  it('refuse anything else', () => {
    for (const bad of ['', '1', '1-', '-1', '1-2-3', 'a-b', '1-1; DROP TABLE x', '12345678901234567890-1', 7, null, undefined, {}]) {
      expect(parseCursor(bad)).toBeNull();
    }
  });
});
