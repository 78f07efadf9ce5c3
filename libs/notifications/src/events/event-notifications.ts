import { CancelReasons } from '@torgovo/trading';
import type { NotificationItem } from '../notification-outbox';
import { encodeCursor, UserEvent } from './user-event-feed';

/**
 * Cancels that are not news to the user: the one they asked for (POST /orders/{id}/cancel), and a
 * target-position alert already met or replaced by a newer one. The order path writes its reason
 * as `<code>: <words>` (placement-rule.ts CancelReasons); anything else that ends an order is told.
 */
const QUIET_CANCEL_CODES: ReadonlySet<string> = new Set([CancelReasons.userCanceled, CancelReasons.atTarget, CancelReasons.superseded]);
const isQuietCancel = (reason: string | null): boolean => reason !== null && QUIET_CANCEL_CODES.has(reason.split(':', 1)[0].trim());
/** Bots the user stopped themselves (stop_reason `user`) are not notified. */
const USER_STOP_REASONS = new Set(['user', null, undefined]);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Which notification, if any, an event of the feed is: order filled; order rejected, failed or
 * canceled by the system; bot stopped by the system (subscription ended, exchange disconnected,
 * user deactivated); payment failed. The dedupe key is one per resource and outcome (an order is
 * filled once) or, for what can happen again (a bot stopped twice), one per event.
 */
export function notificationFor(e: UserEvent): NotificationItem | null {
  const d = e.data;
  const status = str(d.status);
  const previous = str(d.previous_status);
  if (e.type === 'order.updated' && status !== previous) {
    const order = { order_id: e.entity_id, symbol: d.symbol, side: d.side, mode: d.mode, filled: d.filled, average: d.average, reason: d.reason, status };
    if (status === 'filled') return { user_id: e.user_id, kind: 'order_filled', dedupe_key: `order_filled:${e.entity_id}`, data: order };
    if (status === 'rejected' || status === 'failed' || (status === 'canceled' && !isQuietCancel(str(d.reason)))) {
      return { user_id: e.user_id, kind: 'order_rejected', dedupe_key: `order_ended:${e.entity_id}`, data: order };
    }
  }
  if (e.type === 'bot.updated' && status === 'stopped' && previous === 'running' && !USER_STOP_REASONS.has(str(d.stop_reason))) {
    return {
      user_id: e.user_id,
      kind: 'bot_stopped',
      dedupe_key: `bot_stopped:${encodeCursor(e.cursor)}`,
      data: { bot_id: e.entity_id, name: d.name, symbol: d.symbol, stop_reason: d.stop_reason },
    };
  }
  if (e.type === 'payment.updated' && status === 'failed' && previous !== 'failed') {
    // Same key as the payments lib's own payment_failed e-mail: whichever comes first is the one.
    return { user_id: e.user_id, kind: 'payment_failed', dedupe_key: `payment_failed:${e.entity_id}`, data: { payment_id: e.entity_id, reason: d.failure_reason } };
  }
  return null;
}
