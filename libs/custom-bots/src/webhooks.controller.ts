import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery } from '@torgovo/core';
import {
  GenerateWebhookDto,
  toWebhookEventResponse,
  toWebhookResponse,
  WebhookEventPage,
  WebhookPage,
  WebhookSecretResponse,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('custom-bot webhooks')
@Controller('custom-bot')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** The bot's webhook URL and secret, shown only here and on rotate. */
  @Post('webhook/generate')
  @ApiErrors({
    403: ['bot_stopped', 'no_active_subscription', 'live_trading_not_allowed', 'plan_limit'],
    400: ['exchange_not_connected'],
    404: ['not_found'],
    409: ['webhook_exists'],
  })
  generate(@Body() dto: GenerateWebhookDto, @CurrentUser() user: AuthUser): Promise<WebhookSecretResponse> {
    return this.webhooks.generate(user.id, dto, user.session_id);
  }

  /** The user's webhooks, never with secrets. */
  @Get('webhooks')
  async list(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<WebhookPage> {
    const result = await this.webhooks.list(user.id, q);
    return { ...result, items: result.items.map(toWebhookResponse) };
  }

  /** A new secret (same shape as generate, 201 like it); the old secret stops working at once. */
  @Post('webhooks/:id/rotate')
  @ApiErrors({ 404: ['not_found'] })
  rotate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<WebhookSecretResponse> {
    return this.webhooks.rotate(user.id, id, user.session_id);
  }

  /** Deactivates the webhook: its secret stops working (404). */
  @Delete('webhooks/:id')
  @HttpCode(204)
  @ApiErrors({ 404: ['not_found'] })
  async deactivate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<void> {
    await this.webhooks.deactivate(user.id, id);
  }

  /** The request log, newest first (kept 90 days). */
  @Get('webhooks/:id/events')
  @ApiErrors({ 404: ['not_found'] })
  async events(@Param('id', ParseUUIDPipe) id: string, @Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<WebhookEventPage> {
    const { events, orders } = await this.webhooks.events(user.id, id, q);
    return { ...events, items: events.items.map((e) => toWebhookEventResponse(e, e.order_id ? orders.get(e.order_id) : undefined)) };
  }
}
