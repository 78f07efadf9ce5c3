import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { WebhookReceiveService } from './webhook-receive.service';

/** A content type no client sends: every receive request is re-labelled with it in onRequest. */
export const WEBHOOK_CONTENT_TYPE = 'application/x-torgovo-webhook';
const RECEIVE_PATH = /^\/api\/custom-bot\/webhook\/receive\/([^/?#]+)/;

export function receiveSecretOf(url: string): string | null {
  const m = RECEIVE_PATH.exec(url);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

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
    fastify.addHook('onRequest', async (req: FastifyRequest) => {
      if (req.method === 'POST' && RECEIVE_PATH.test(req.url)) req.headers['content-type'] = WEBHOOK_CONTENT_TYPE;
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
}
