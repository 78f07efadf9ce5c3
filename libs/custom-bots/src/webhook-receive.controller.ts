import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '@torgovo/core';
import { RateLimitedError } from './errors';
import { ReceiveResult, WebhookReceiveService } from './webhook-receive.service';

@ApiTags('custom-bot webhooks')
@Controller('custom-bot/webhook')
export class WebhookReceiveController {
  constructor(private readonly receiver: WebhookReceiveService) {}

  /** 202 when a new order was written, 200 for a repeat of an alert already accepted; 429 carries Retry-After. */
  @Public()
  @Post('receive/:secret')
  @HttpCode(202)
  @ApiConsumes('text/plain', 'application/json')
  async receive(
    @Param('secret') secret: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReceiveResult> {
    // WebhookBodyHooks hands this route the raw bytes whatever the content type.
    const body = Buffer.isBuffer(req.body) ? req.body : null;
    try {
      const result = await this.receiver.receive({ secret, body, ip: req.ip });
      if (result.status === 'duplicate') void reply.status(200);
      return result;
    } catch (err) {
      // The error filter writes the body; the header it keeps.
      if (err instanceof RateLimitedError) void reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
  }
}
