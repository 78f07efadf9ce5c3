import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { AllExceptionsFilter, AppConfig } from '@torgovo/core';
import { RateLimitedError } from './errors';
import { WebhookReceiveService } from './webhook-receive.service';
import { WebhookBacklog } from './webhook-backlog';
import { WebhookBusySignal } from './webhook-busy-signal';

/** The receive route as Nest declares it on Fastify (global prefix included). */
export const RECEIVE_ROUTE_URL = '/api/custom-bot/webhook/receive/:secret';
/** What the request log shows for it: the path carries the secret. */
const LOGGED_URL = '/api/custom-bot/webhook/receive/[redacted]';
const SUMMARY_EVERY_MS = 10_000;

/** A connect-style middleware that only sets headers (helmet's, built once by the caller). */
export type HeaderMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface ReceiveRouteOptions {
  /**
   * The security headers every answer carries. @fastify/helmet builds helmet's middleware anew for
   * each request (parsing its options each time); given here, it is built once and @fastify/helmet
   * skips this route.
   */
  securityHeaders?: HeaderMiddleware;
}

/**
 * POST /api/custom-bot/webhook/receive/{secret} run by Fastify itself (issue 16). WebhookReceiveController
 * still declares the route (its path and OpenAPI operation), but install() swaps the handler Nest gives
 * Fastify for handle(): an alert skips Nest's router (guards, pipes, filter dispatch) and pino-http
 * (a route installRequestLogging skips: apps/api bootstrap) — at a bar close those cost the api more
 * CPU than our own code did.
 * What the caller sees is unchanged: the same statuses, bodies (errors through AllExceptionsFilter),
 * headers (Fastify's hooks still run) and webhook_events rows.
 *
 * Request logging: a per-request line only at LOG_LEVEL debug (trace), and one summary line per
 * 10 s at info with the counts by status. At 5,000 alerts/s a line per alert is ~5,000 lines/s nobody
 * reads, and every request already leaves its webhook_events row (outcome, status, reason), which is
 * where an owner or operator looks; refusals are still logged one by one by the error filter.
 */
@Injectable()
export class WebhookReceiveRoute implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookReceiveRoute.name);
  private readonly errors = new AllExceptionsFilter();
  private readonly debug: boolean;
  private readonly byStatus = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Alerts this process has not answered yet: WebhookBusySignal tells the workers when they pile up. */
  readonly backlog = new WebhookBacklog();

  constructor(
    private readonly receiver: WebhookReceiveService,
    private readonly busy: WebhookBusySignal,
    config: AppConfig,
  ) {
    this.debug = config.env.LOG_LEVEL === 'debug' || config.env.LOG_LEVEL === 'trace';
  }

  /** Call before Nest registers its routes (app.init, which listen() runs); boot fails if the route never comes. */
  install(fastify: FastifyInstance, options: ReceiveRouteOptions = {}): void {
    let installed = false;
    const headers = options.securityHeaders;
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (route.url !== RECEIVE_ROUTE_URL || !isPost(route.method)) return;
      route.handler = (req, reply) => this.handle(req, reply);
      if (headers) {
        route.config = { ...route.config, helmet: { skipRoute: true } } as RouteOptions['config'];
        const setHeaders: onRequestHookHandler = (req, reply, done) => headers(req.raw, reply.raw, (err) => done(err === undefined ? undefined : toError(err)));
        route.onRequest = [...asArray(route.onRequest), setHeaders];
      }
      installed = true;
    });
    fastify.addHook('onReady', async () => {
      if (!installed) throw new Error(`The webhook receive route ${RECEIVE_ROUTE_URL} was never registered: its Fastify handler is not installed`);
    });
    this.timer = setInterval(() => this.logSummary(), SUMMARY_EVERY_MS).unref();
    this.busy.start(this.backlog);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.logSummary();
  }

  /** One alert: 202 accepted, 200 duplicate, or the error shape (429 with Retry-After). */
  async handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { secret } = req.params as { secret: string };
    // WebhookBodyHooks hands this route the raw bytes whatever the content type.
    const body = Buffer.isBuffer(req.body) ? req.body : null;
    this.backlog.begin();
    try {
      const result = await this.receiver.receive({ secret, body, ip: req.ip });
      void reply.code(result.status === 'duplicate' ? 200 : 202).send(result);
    } catch (err) {
      if (err instanceof RateLimitedError) void reply.header('retry-after', String(err.retryAfterSeconds));
      this.errors.respond(err, req, reply);
    } finally {
      this.backlog.end();
    }
    this.count(req, reply);
    // Returned, not just sent: the onSend hooks are async, and an async handler that resolves to
    // nothing before they finish would have Fastify send a second time.
    return reply;
  }

  private count(req: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (this.debug) {
      this.logger.debug({ request_id: req.id, method: 'POST', url: LOGGED_URL, status, ms: Math.round(reply.elapsedTime) }, 'Webhook alert answered');
    }
  }

  private logSummary(): void {
    if (this.byStatus.size === 0) return;
    const by_status = Object.fromEntries(this.byStatus);
    const requests = [...this.byStatus.values()].reduce((a, b) => a + b, 0);
    this.byStatus.clear();
    this.logger.log({ url: LOGGED_URL, requests, by_status }, 'Webhook alerts answered');
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function asArray<T>(x: T | T[] | undefined): T[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

function isPost(method: RouteOptions['method']): boolean {
  return Array.isArray(method) ? method.includes('POST') : method === 'POST';
}
