import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsUUID, Max, Min } from 'class-validator';
import { IsOptional, PageResponse } from '@torgovo/core';
import type { BotWebhook } from '../entities/bot-webhook.entity';
import type { WebhookEvent, WebhookOutcome } from '../entities/webhook-event.entity';

export class GenerateWebhookDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  bot_id: string;

  @ApiPropertyOptional({ default: 300, description: 'Alerts whose timestamp is older than this are rejected (stale_signal)' })
  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  max_lag_seconds?: number;

  @ApiPropertyOptional({ default: 60 })
  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  rate_limit_per_minute?: number;
}

/**
 * The template's alert_id: TradingView has no per-alert id, and {{timenow}} alone has one-second
 * resolution (a buy and a close at one bar close share it), so it is combined with what tells two
 * orders of one chart apart: the chart (ticker, interval) and the strategy order (id, action).
 */
export const TRADINGVIEW_ALERT_ID = '{{timenow}}-{{ticker}}-{{interval}}-{{strategy.order.id}}-{{strategy.order.action}}';

/** The alert message to paste into TradingView; the placeholders are TradingView's. */
export class TradingViewTemplate {
  action: string;
  ticker: string;
  price: string;
  quantity: string;
  alert_id: string;
  timestamp: string;
  secret: string;
}

/**
 * The target-position alert: states the strategy's signed position instead of a trade; the bot
 * trades the difference from its own position when the order executes (spot: ≤ 0 means flat).
 */
export class TradingViewPositionTemplate {
  position: string;
  ticker: string;
  price: string;
  alert_id: string;
  timestamp: string;
  secret: string;
}

export class WebhookResponse {
  id: string;
  bot_id: string;
  is_active: boolean;
  max_lag_seconds: number;
  rate_limit_per_minute: number;
  created_at: string;
  rotated_at: string | null;
  deactivated_at: string | null;
}

/** Only generate and rotate return this: the one time the secret is shown. */
export class WebhookSecretResponse extends WebhookResponse {
  /** Paste into TradingView's "Webhook URL"; it contains the secret. */
  webhook_url: string;
  webhook_secret: string;
  /** Paste into TradingView's alert "Message". */
  tradingview_json: TradingViewTemplate;
  tradingview_position_json: TradingViewPositionTemplate;
}

export class WebhookPage extends PageResponse {
  items: WebhookResponse[];
}

export class WebhookReceiveResponse {
  status: 'accepted' | 'duplicate';
  order_id: string;
}

export class WebhookEventResponse {
  id: string;
  received_at: string;
  ip: string | null;
  outcome: WebhookOutcome;
  /** The HTTP status the sender got. */
  status_code: number;
  /** The error code when rejected. */
  reason: string | null;
  message: string | null;
  order_id: string | null;
  /**
   * What became of that order now (null without one). An alert is answered 202 before the executor
   * decides: an order it refused — the bot stopped, the user deactivated, the subscription ended
   * after the alert was received — is `canceled`, with the reason in order_reason.
   */
  order_status: string | null;
  order_reason: string | null;
  /** The body's first 10 KB, secret masked. */
  body: string | null;
}

export class WebhookEventPage extends PageResponse {
  items: WebhookEventResponse[];
}

export function toWebhookResponse(w: BotWebhook): WebhookResponse {
  return {
    id: w.id,
    bot_id: w.bot_id,
    is_active: w.is_active,
    max_lag_seconds: w.max_lag_seconds,
    rate_limit_per_minute: w.rate_limit_per_minute,
    created_at: w.created_at.toISOString(),
    rotated_at: w.rotated_at?.toISOString() ?? null,
    deactivated_at: w.deactivated_at?.toISOString() ?? null,
  };
}

export function toWebhookSecretResponse(w: BotWebhook, secret: string, publicUrl: string): WebhookSecretResponse {
  return {
    ...toWebhookResponse(w),
    webhook_url: `${publicUrl}/api/custom-bot/webhook/receive/${secret}`,
    webhook_secret: secret,
    tradingview_json: {
      action: '{{strategy.order.action}}',
      ticker: '{{ticker}}',
      price: '{{close}}',
      quantity: '{{strategy.order.contracts}}',
      alert_id: TRADINGVIEW_ALERT_ID,
      timestamp: '{{timenow}}',
      secret,
    },
    tradingview_position_json: {
      position: '{{strategy.position_size}}',
      ticker: '{{ticker}}',
      price: '{{close}}',
      alert_id: '{{timenow}}-{{strategy.order.id}}',
      timestamp: '{{timenow}}',
      secret,
    },
  };
}

export function toWebhookEventResponse(e: WebhookEvent, order?: { status: string; reason: string | null }): WebhookEventResponse {
  return {
    id: e.id,
    received_at: e.received_at.toISOString(),
    ip: e.ip,
    outcome: e.outcome,
    status_code: e.status_code,
    reason: e.reason,
    message: e.message,
    order_id: e.order_id,
    order_status: order?.status ?? null,
    order_reason: order?.reason ?? null,
    body: e.body,
  };
}
