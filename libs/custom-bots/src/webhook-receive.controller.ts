import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiConsumes, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors, Public } from '@torgovo/core';
import { TradingViewAlertDto } from './dto/tradingview-alert.dto';
import { WebhookReceiveResponse } from './dto/webhook.dto';
import { WebhookReceiveRoute } from './webhook-receive.route';

@ApiTags('custom-bot webhooks')
@Controller('custom-bot/webhook')
export class WebhookReceiveController {
  constructor(private readonly route: WebhookReceiveRoute) {}

  /** TradingView alert (called by TradingView): 202 when a new order was written, 200 for a repeat of an alert already accepted; 429 carries Retry-After. Every request is logged. */
  @Public()
  @Post('receive/:secret')
  @HttpCode(202)
  @ApiConsumes('text/plain', 'application/json')
  @ApiBody({ type: TradingViewAlertDto, description: 'A JSON object, sent as text/plain (TradingView\'s default) or application/json' })
  @ApiAcceptedResponse({ type: WebhookReceiveResponse, description: 'accepted: the order is written (status pending)' })
  @ApiOkResponse({ type: WebhookReceiveResponse, description: 'duplicate: this alert was already accepted; the first order, nothing new' })
  @ApiErrors({
    400: ['malformed_json', 'invalid_signal', 'unknown_symbol', 'symbol_mismatch', 'exchange_not_connected'],
    401: ['secret_mismatch'],
    403: ['bot_stopped', 'user_inactive', 'ip_not_allowed', 'no_active_subscription', 'live_trading_not_allowed', 'plan_limit'],
    404: ['not_found'],
    413: ['payload_too_large'],
    422: ['stale_signal', 'no_position', 'insufficient_balance'],
    429: ['rate_limited'],
    503: ['markets_unavailable'],
  })
  async receive(@Param('secret') _secret: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<FastifyReply> {
    // Fastify runs WebhookReceiveRoute.handle for this route without Nest's router (the api's bootstrap
    // installs it); this declaration gives the route its path and OpenAPI operation, and answers the
    // same way in an app without that installation.
    return this.route.handle(req, reply);
  }
}
