import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig, installRequestLogging } from '@torgovo/core';
import { RECEIVE_ROUTE_URL, WebhookReceiveRoute } from '@torgovo/custom-bots';
import { parseLiveMessage } from '@torgovo/live-updates';
import { ApiModule, ApiModuleOptions } from './api.module';
import { applyBrowserHardening, frameworkErrorHandler, helmetOptions } from './browser-hardening';
import { setupSwagger } from './swagger';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** REST under /api; /health (and /docs) outside it. The OpenAPI dump applies it too. */
export function applyGlobalPrefix(app: NestFastifyApplication): void {
  app.setGlobalPrefix('api', { exclude: ['health'] });
}

/** Builds the api exactly as production runs it; e2e tests call this too. */
export async function createApiApp(options: ApiModuleOptions = {}): Promise<NestFastifyApplication> {
  const config = AppConfig.fromEnv(process.env);
  const trusted = config.env.TRUSTED_PROXIES;
  const adapter = new FastifyAdapter({
    trustProxy: trusted.length > 0 ? trusted : false,
    bodyLimit: BODY_LIMIT_BYTES,
    // One id per request, shared by Fastify, pino-http (via the header) and the error body.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      req.headers['x-request-id'] = id;
      return id;
    },
    frameworkErrors: frameworkErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(options), adapter, {
    rawBody: true,
    bufferLogs: true,
    // An error while starting (a refused DATA_DIR, an unreachable database) reaches the caller —
    // main() prints it plainly, tests see a rejection — instead of Nest calling process.abort().
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // pino-http and nestjs-pino's request context from a Fastify hook, not Nest middleware. Health probes
  // are noise; the receive route logs a summary (and each alert at debug) itself: WebhookReceiveRoute.
  installRequestLogging(app, app.getHttpAdapter().getInstance(), { skip: [{ url: '/health' }, { method: 'POST', url: RECEIVE_ROUTE_URL }] });
  // Before listen() registers Nest's routes: TradingView's alerts are answered by Fastify directly (issue 16).
  app.get(WebhookReceiveRoute).install(app.getHttpAdapter().getInstance(), { securityHeaders: helmet(helmetOptions(app.get(AppConfig))) });
  await applyBrowserHardening(app, app.get(AppConfig));
  applyGlobalPrefix(app);
  // ws (not socket.io): the live-updates protocol is plain JSON frames any browser WebSocket speaks.
  app.useWebSocketAdapter(new WsAdapter(app, { messageParser: parseLiveMessage }));
  app.enableShutdownHooks();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (req, reply) => {
      reply.header('x-request-id', req.id);
    });
  await setupSwagger(app, app.get(AppConfig));
  return app;
}
