import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { WebhookOutcome } from './entities/webhook-event.entity';
import { looksLikeWebhookSecret } from './webhook-secret';

export const MAX_LOGGED_BODY_BYTES = 10 * 1024;

export interface WebhookEventRow {
  id: string;
  webhook_id: string | null;
  bot_id: string | null;
  received_at: Date;
  ip: string | null;
  outcome: WebhookOutcome;
  status_code: number;
  reason: string | null;
  message: string | null;
  order_id: string | null;
  body: string | null;
  body_bytes: number | null;
}

export const WEBHOOK_EVENT_COLUMNS = [
  'id',
  'webhook_id',
  'bot_id',
  'received_at',
  'ip',
  'outcome',
  'status_code',
  'reason',
  'message',
  'order_id',
  'body',
  'body_bytes',
] as const;

/** The values for WEBHOOK_EVENT_COLUMNS, in order (the receive hot path writes them inside a larger statement). */
export function webhookEventValues(row: WebhookEventRow): unknown[] {
  return WEBHOOK_EVENT_COLUMNS.map((column) => row[column]);
}

const SECRET_FIELD = /("secret"\s*:\s*")((?:[^"\\]|\\.)*)(")/g;
const SECRET_FIELD_SINGLE = /('secret'\s*:\s*')((?:[^'\\]|\\.)*)(')/g;

/**
 * The first 10 KB as text, with secrets masked and NULs dropped (text columns refuse them).
 * Masked on the whole body BEFORE the cut, so a secret straddling 10 KB cannot leave a prefix:
 * every occurrence of the URL's secret (`knownSecret`) wherever it appears, and the value of any
 * "secret" field (double- or single-quoted, so also a body that is not strict JSON).
 */
export function bodyForLog(raw: Buffer | null, knownSecret?: string): string | null {
  if (raw === null) return null;
  let text = raw.toString('utf8');
  // Each step copies the text only when it has something to do (this runs for every alert): the
  // common body has no secret in it, no NUL, and is far under the cut.
  // Only something shaped like a secret: a junk path segment like "a" must not mangle the log.
  if (knownSecret && looksLikeWebhookSecret(knownSecret) && text.includes(knownSecret)) text = text.split(knownSecret).join('[redacted]');
  // Both patterns start with the literal word.
  if (text.includes('secret')) text = text.replace(SECRET_FIELD, '$1[redacted]$3').replace(SECRET_FIELD_SINGLE, '$1[redacted]$3');
  if (Buffer.byteLength(text, 'utf8') > MAX_LOGGED_BODY_BYTES) text = Buffer.from(text, 'utf8').subarray(0, MAX_LOGGED_BODY_BYTES).toString('utf8');
  return text.includes('\u0000') ? text.split('\u0000').join('') : text;
}

/** The webhook request log: exactly one row per request (see WebhookReceiveService). */
@Injectable()
export class WebhookEventLog {
  private readonly logger = new Logger(WebhookEventLog.name);

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async insert(row: WebhookEventRow, manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).query(
      `INSERT INTO webhook_events (${WEBHOOK_EVENT_COLUMNS.join(', ')}) VALUES (${WEBHOOK_EVENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      webhookEventValues(row),
    );
  }

  /** For rejections: a failure to log must not replace the answer the sender gets. */
  async insertQuietly(row: WebhookEventRow): Promise<void> {
    try {
      await this.insert(row);
    } catch (err) {
      this.logger.error({ err, event_id: row.id, reason: row.reason }, 'Could not record a webhook event');
    }
  }
}
