import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { WebhookOutcome } from './entities/webhook-event.entity';

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

/** The first 10 KB as text, with the secret masked and NULs dropped (text columns refuse them). */
export function bodyForLog(raw: Buffer | null): string | null {
  if (raw === null) return null;
  const text = raw.subarray(0, MAX_LOGGED_BODY_BYTES).toString('utf8');
  return text.replace(SECRET_FIELD, '$1[redacted]$3').split('\u0000').join('');
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
