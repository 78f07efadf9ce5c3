import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { HelmetOptions } from 'helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AllExceptionsFilter, AppConfig } from '@torgovo/core';

/**
 * Routes that take other bodies than JSON: TradingView's alerts (text/plain or anything), Stripe's
 * raw, signed body, and CoinGate's callback (form-encoded; trusted only after the order is fetched
 * back from CoinGate, so a forged cross-site post changes nothing).
 */
const NON_JSON_ROUTES = [/^\/api\/custom-bot\/webhook\/receive(\/|$)/, /^\/api\/payments\/webhook$/, /^\/api\/payments\/crypto\/callback$/];
const JSON_TYPE = 'application/json';

/** What a browser may read back from a cross-origin response besides the CORS-safelisted headers. */
export const EXPOSED_HEADERS = ['x-request-id', 'x-ratelimit-limit-auth', 'x-ratelimit-remaining-auth', 'x-ratelimit-reset-auth', 'retry-after-auth'];

/**
 * What a browser-facing API sends and refuses: CORS for the configured origins only (no
 * credentials: the API uses bearer tokens, never cookies), helmet's headers with a CSP Swagger
 * UI can run under, no caching of API answers (they carry tokens and users' data), and JSON
 * only — a cross-site <form> can post urlencoded or text/plain without a CORS preflight, so
 * JSON endpoints refuse any other body (415) before it is parsed.
 */
export async function applyBrowserHardening(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  await app.register(fastifyHelmet, helmetOptions(config));
  await app.register(fastifyCors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins.length > 0 ? config.corsOrigins : false,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (req: FastifyRequest) => {
    const route = req.routeOptions?.url;
    // Unmatched paths answer 404 whatever they carry.
    if (!route || !hasBody(req) || NON_JSON_ROUTES.some((r) => r.test(route))) return;
    if (mediaType(req.headers['content-type']) !== JSON_TYPE) throw unsupportedMediaType();
  });
  fastify.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.url.startsWith('/api') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
}

/** helmet's headers for every answer, with a CSP Swagger UI can run under (also applied, prebuilt, on the receive route). */
export function helmetOptions(config: AppConfig): HelmetOptions {
  return {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // Swagger UI: its bundle and init script are files under /docs; its page has inline styles
        // and data: images.
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    // HSTS is the TLS terminator's business: on plain-HTTP development it would pin localhost.
    hsts: config.isProduction,
  };
}

/** Fastify's messages for these quote the path, which may hold a webhook secret: not echoed. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'Malformed URL: a percent-encoded sequence does not decode',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is longer than 100 characters',
};

/**
 * Fastify answers some errors itself, before routing (a URL that does not decode, a path
 * parameter over maxParamLength): give them our error shape with the request id.
 */
export function frameworkErrorHandler(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const message = FRAMEWORK_MESSAGES[error.code] ?? 'Bad request';
  const body = new AllExceptionsFilter().toBody(Object.assign(error, { message }), String(req.id ?? ''));
  void reply
    .code(body.statusCode)
    .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-request-id': body.request_id })
    .send(body);
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function unsupportedMediaType(): Error {
  return Object.assign(new Error('Request body must be application/json'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
}
