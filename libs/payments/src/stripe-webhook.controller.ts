import { Controller, Headers, HttpCode, Post, RawBodyRequest, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public, ReqMeta, RequestMeta } from '@torgovo/core';
import { WebhookResponse } from './dto/create-checkout.dto';
import { StripeWebhookService } from './stripe/stripe-webhook.service';

@ApiTags('payments')
@Controller('payments')
export class StripeWebhookController {
  constructor(private readonly webhooks: StripeWebhookService) {}

  /** Public: authenticated by Stripe-Signature over the raw body (rawBody: true in bootstrap). */
  @Public()
  @Post('webhook')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Headers('stripe-signature') signature: string | undefined,
    @ReqMeta() meta: RequestMeta,
  ): Promise<WebhookResponse> {
    await this.webhooks.receive(req.rawBody, signature, { ip: meta.ip, user_agent: meta.user_agent });
    return { received: true };
  }
}
