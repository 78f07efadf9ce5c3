import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
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
export interface TradingViewTemplate {
  action: string;
  ticker: string;
  price: string;
  quantity: string;
  alert_id: string;
  timestamp: string;
  secret: string;
}

export interface WebhookResponse {
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
export interface WebhookSecretResponse extends WebhookResponse {
  webhook_url: string;
  webhook_secret: string;
  tradingview_json: TradingViewTemplate;
}

export interface WebhookEventResponse {
  id: string;
  received_at: string;
  ip: string | null;
  outcome: WebhookOutcome;
  status_code: number;
  reason: string | null;
  message: string | null;
  order_id: string | null;
  body: string | null;
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
  };
}

export function toWebhookEventResponse(e: WebhookEvent): WebhookEventResponse {
  return {
    id: e.id,
    received_at: e.received_at.toISOString(),
    ip: e.ip,
    outcome: e.outcome,
    status_code: e.status_code,
    reason: e.reason,
    message: e.message,
    order_id: e.order_id,
    body: e.body,
  };
}
