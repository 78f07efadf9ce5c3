import { sha256Hex } from '@torgovo/core';

/**
 * What makes an alert a repeat of one already accepted on the same webhook (the dedupe claim's key):
 * - with an `alert_id`: the same body, byte for byte (which carries the same alert_id), for as long as
 *   the first alert's event row is kept (WEBHOOK_EVENT_RETENTION_DAYS; the retention sweep deletes the
 *   claim with it). Two alerts that share an alert_id but differ anywhere else (a buy and a close
 *   stamped in the same second) are two alerts.
 * - without one: the same body within the window (WEBHOOK_DEDUPE_WINDOW_SECONDS), which covers a
 *   sender's retries; after it the same body is a new alert (a static message fires again).
 * The prefixes are new with this rule: keys written under the old one (alert_id alone; body for 24 h)
 * never match a new alert.
 */
export interface RepeatKey {
  key: string;
  /** null: kept with its event; a date: the window's end, after which the key is taken over. */
  expiresAt: Date | null;
}

export function repeatKey(alertId: string | null, body: string, now: Date, windowSeconds: number): RepeatKey {
  const digest = sha256Hex(body);
  if (alertId !== null) return { key: `ib:${digest}`, expiresAt: null };
  return { key: `wb:${digest}`, expiresAt: new Date(now.getTime() + windowSeconds * 1000) };
}
