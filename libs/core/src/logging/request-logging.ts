import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication, MiddlewareConsumer } from '@nestjs/common';
import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify';
import { LoggerModule } from 'nestjs-pino';

/** Set in the Fastify config of the routes installRequestLogging skips: checked per request. */
const NO_REQUEST_LOG = 'noRequestLog';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** A route as Fastify registers it (global prefix included); without a method, every method of that URL. */
export interface UnloggedRoute {
  url: string;
  method?: string;
}

/**
 * Request logging as one Fastify onRequest hook instead of Nest middleware. nestjs-pino mounts
 * pino-http and the binding of its AsyncLocalStorage store (the request's logger, which PinoLogger
 * and Logger read) as Nest middleware, run through @fastify/middie for every request; its `exclude`
 * is checked per request by Nest too, so the webhook receive route, excluded, still paid ~6 % of the
 * api's CPU in a webhook burst for it. nestjs-pino 5.2.1 has no Fastify-native way (`useExisting`
 * still mounts the store binding as Nest middleware). LoggingModule now mounts its middleware on no
 * route (`forRoutes: []`), and this hook runs the very middleware nestjs-pino's configure() asks for,
 * in its order, where middie ran it (the first onRequest hook after the adapter's own: call this
 * right after NestFactory.create). The routes in `skip` are flagged in their route config when
 * registered, so a request to them costs one config lookup, not a match of its URL.
 *
 * Call before listen() registers the routes; boot fails if a route in `skip` never comes.
 */
export function installRequestLogging(app: INestApplication, fastify: FastifyInstance, options: { skip: UnloggedRoute[] }): void {
  const unseen = new Set(options.skip);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const methods = [route.method].flat();
    for (const skipped of options.skip) {
      if (route.url !== skipped.url || (skipped.method !== undefined && !methods.includes(skipped.method))) continue;
      route.config = { ...route.config, [NO_REQUEST_LOG]: true } as RouteOptions['config'];
      unseen.delete(skipped);
    }
  });
  fastify.addHook('onReady', async () => {
    if (unseen.size > 0) throw new Error(`Routes excluded from request logging were never registered: ${[...unseen].map((r) => `${r.method ?? '*'} ${r.url}`).join(', ')}`);
  });
  const run = chain(nestjsPinoMiddleware(app.get(LoggerModule)));
  const hook: onRequestHookHandler = (req, reply, done) => {
    if (skipsRequestLog(req.routeOptions.config)) return done();
    // As middie did: pino-http takes the request's id (Fastify's genReqId: x-request-id or a UUID) from it.
    (req.raw as IncomingMessage & { id?: string }).id = req.id;
    run(req.raw, reply.raw, (err) => done(err === undefined || err === null ? undefined : toError(err)));
  };
  fastify.addHook('onRequest', hook);
}

function skipsRequestLog(config: object | undefined): boolean {
  return (config as { [NO_REQUEST_LOG]?: unknown } | undefined)?.[NO_REQUEST_LOG] === true;
}

/** What LoggerModule.configure() applies as Nest middleware: pino-http, then the store binding. */
function nestjsPinoMiddleware(module: LoggerModule): Middleware[] {
  let applied: Middleware[] | undefined;
  const consumer = {
    apply(...middleware: (Middleware | Middleware[])[]) {
      applied = middleware.flat();
      const routes = { exclude: () => routes, forRoutes: () => consumer };
      return routes;
    },
  };
  module.configure(consumer as unknown as MiddlewareConsumer);
  if (!applied?.length) throw new Error('nestjs-pino applied no request middleware: request logging would be missing');
  return applied;
}

/** The middleware run one after the other as connect would; each next() runs inside what the one before set up. */
function chain(middleware: Middleware[]): Middleware {
  return middleware.reduceRight<Middleware>(
    (rest, current) => (req, res, next) => current(req, res, (err) => (err === undefined || err === null ? rest(req, res, next) : next(err))),
    (_req, _res, next) => next(),
  );
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
