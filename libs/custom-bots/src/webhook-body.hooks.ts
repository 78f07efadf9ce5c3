import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AllExceptionsFilter, DomainError } from '@torgovo/core';
import { WebhookReceiveService } from './webhook-receive.service';
import { parseReceiveUrl, receiveSecretOf } from './webhook-receive-url';

/** A content type no client sends: every receive request is re-labelled with it in onRequest. */
export const WEBHOOK_CONTENT_TYPE = 'application/x-torgovo-webhook';

/**
 * TradingView posts text/plain, application/json or nothing at all, and the app-wide JSON
 * parser would answer malformed JSON before our handler could log it. So the receive route
 * takes the raw bytes whatever the content type (Fastify's bodyLimit still applies) and parses
 * them itself; errors Fastify raises before the handler (413) are logged from onError.
 */
@Injectable()
export class WebhookBodyHooks implements OnModuleInit {
  private readonly logger = new Logger(WebhookBodyHooks.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly receiver: WebhookReceiveService,
  ) {}

  onModuleInit(): void {
    // The worker has no HTTP server.
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance();
    if (!instance || typeof (instance as Partial<FastifyInstance>).addContentTypeParser !== 'function') return;
    const fastify = instance as FastifyInstance;
    fastify.addContentTypeParser(WEBHOOK_CONTENT_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    fastify.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const url = parseReceiveUrl(req.url);
      if (url === null) return;
      if (req.method === 'POST' && url.canonical) {
        req.headers['content-type'] = WEBHOOK_CONTENT_TYPE;
        return;
      }
      await this.answerOtherShape(req, reply, url.secret);
      return reply;
    });
    fastify.addHook('onError', async (req: FastifyRequest, _reply, error: FastifyError) => {
      const secret = req.method === 'POST' ? receiveSecretOf(req.url) : null;
      if (secret === null) return;
      const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
      const code = status === 413 ? 'payload_too_large' : (error.code ?? 'request_error').toLowerCase();
      await this.receiver.recordTransportError(secret, req.ip, status, code, error.message);
    });
    this.logger.debug('Webhook body parsing installed');
  }

  /**
   * Any other method or shape of a receive URL (a GET from a browser, HEAD, a trailing slash, another
   * case): answered here, before the router, so no "Cannot GET <url>" can echo the secret; recorded
   * against the webhook when the secret matches one, so its owner sees why TradingView got no trade.
   */
  private async answerOtherShape(req: FastifyRequest, reply: FastifyReply, secret: string | null): Promise<void> {
    const post = req.method === 'POST';
    const error = post
      ? new DomainError('not_found', 404, 'Unknown webhook URL: post alerts to the webhook_url exactly as it was given')
      : new DomainError('method_not_allowed', 405, 'Webhook URLs take alerts by POST only');
    await this.receiver.recordTransportError(secret ?? '', req.ip, error.status, post ? 'malformed_url' : 'method_not_allowed', error.message);
    if (!post) void reply.header('allow', 'POST');
    void reply
      .code(error.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(new AllExceptionsFilter().toBody(error, String(req.id)));
  }
}
