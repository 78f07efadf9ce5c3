import { Controller, Headers, HttpCode, Post, RawBodyRequest, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors, Public, ReqMeta, RequestMeta } from '@torgovo/core';
import { StripeWebhookAck } from './dto/create-checkout.dto';
import { StripeWebhookService } from './stripe/stripe-webhook.service';

@ApiTags('payments')
@Controller('payments')
export class StripeWebhookController {
  constructor(private readonly webhooks: StripeWebhookService) {}

  /** Stripe webhook (called by Stripe, not by clients): a Stripe Event, verified by Stripe-Signature over the raw body. Handled and ignored events both answer 200. */
  @Public()
  @Post('webhook')
  @HttpCode(200)
  @ApiHeader({ name: 'stripe-signature', required: true, description: 'Stripe\'s signature of the raw body (tolerance 300 s)' })
  @ApiBody({ description: 'A Stripe Event object (https://docs.stripe.com/api/events/object)', schema: { type: 'object', additionalProperties: true } })
  @ApiErrors({ 400: ['invalid_signature', 'invalid_event'], 502: ['payment_provider_error'], 503: ['payments_not_configured'] })
  async receive(
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Headers('stripe-signature') signature: string | undefined,
    @ReqMeta() meta: RequestMeta,
  ): Promise<StripeWebhookAck> {
    await this.webhooks.receive(req.rawBody, signature, { ip: meta.ip, user_agent: meta.user_agent });
    return { received: true };
  }
}
