import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page, PageQuery } from '@torgovo/core';
import {
  GenerateWebhookDto,
  toWebhookEventResponse,
  toWebhookResponse,
  WebhookEventResponse,
  WebhookResponse,
  WebhookSecretResponse,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('custom-bot webhooks')
@ApiBearerAuth()
@Controller('custom-bot')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('webhook/generate')
  generate(@Body() dto: GenerateWebhookDto, @CurrentUser() user: AuthUser): Promise<WebhookSecretResponse> {
    return this.webhooks.generate(user.id, dto);
  }

  @Get('webhooks')
  async list(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<Page<WebhookResponse>> {
    const result = await this.webhooks.list(user.id, q);
    return { ...result, items: result.items.map(toWebhookResponse) };
  }

  @Post('webhooks/:id/rotate')
  @HttpCode(200)
  rotate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<WebhookSecretResponse> {
    return this.webhooks.rotate(user.id, id);
  }

  @Delete('webhooks/:id')
  @HttpCode(204)
  async deactivate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<void> {
    await this.webhooks.deactivate(user.id, id);
  }

  @Get('webhooks/:id/events')
  async events(@Param('id', ParseUUIDPipe) id: string, @Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<Page<WebhookEventResponse>> {
    const result = await this.webhooks.events(user.id, id, q);
    return { ...result, items: result.items.map(toWebhookEventResponse) };
  }
}
