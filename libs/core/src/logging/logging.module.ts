import { stdSerializers } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream, LogFn } from 'pino';
import { AppConfig } from '../config/config.service';

/** Every key whose value must never reach a log line, wherever it is nested. */
export const REDACTED_KEYS = [
  'password',
  'new_password',
  'password_hash',
  'secret',
  'api_key',
  'apiKey',
  'passphrase',
  'password_enc',
  'authorization',
  'cookie',
  'access_token',
  'refresh_token',
  'token',
  'webhook_secret',
  'stripe-signature',
  'ok-access-sign',
  'ok-access-key',
  'ok-access-passphrase',
];

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `req.headers["${k}"]`]);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface LoggingOptions {
  /** Tests pass a stream to capture every line the app writes. */
  destination?: DestinationStream;
}

@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            // Mounted on no route as Nest middleware: installRequestLogging (request-logging.ts) runs the
            // same middleware from a Fastify hook, and the routes it skips (/health, the webhook receive
            // route: apps/api bootstrap) pay nothing for it, not even Nest's per-request matching.
            forRoutes: [],
            pinoHttp: {
              level: config.env.LOG_LEVEL,
              redact: { paths: redactPaths, censor: '[redacted]' },
              genReqId: (req: IncomingMessage) => {
                const given = req.headers['x-request-id'];
                return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
              },
              // The webhook path carries the secret; log the route, not the URL.
              serializers: {
                // A TypeORM QueryFailedError carries the statement and its parameters (a password
                // hash, an encrypted key…), and PostgreSQL's detail and where ("Failing row contains
                // (…every column…)" on a NOT NULL or CHECK violation): never logged. The code, the
                // constraint, the table and the column stay.
                err: (e: Error) => {
                  const out = stdSerializers.err(e) as unknown as Record<string, unknown>;
                  for (const k of ['parameters', 'query', 'driverError', 'detail', 'where', 'internalQuery']) delete out[k];
                  // Router errors quote the URL ("Cannot GET /api/custom-bot/webhook/receive/<secret>").
                  for (const k of ['message', 'stack']) if (typeof out[k] === 'string') out[k] = redactUrlsInText(out[k]);
                  return out;
                },
                req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
                  id: req.id,
                  method: req.method,
                  url: redactUrl(req.url),
                  remote: req.remoteAddress,
                }),
              },
              customProps: () => ({}),
              // The message of every line, whoever logs it: a receive URL quoted in it is masked.
              hooks: {
                logMethod(args: Parameters<LogFn>, method: LogFn): void {
                  const masked = args.map((a: unknown) => (typeof a === 'string' ? redactUrlsInText(a) : a));
                  method.apply(this, masked as Parameters<LogFn>);
                },
              },
              transport: config.env.LOG_PRETTY && !options.destination ? { target: 'pino-pretty' } : undefined,
              stream: options.destination,
            },
          }),
        }),
      ],
    };
  }
}

/**
 * A TradingView receive URL carries the webhook secret in its path, in whatever shape a client sent
 * it (another case, a trailing slash, percent-encoded, extra segments): everything after
 * ".../webhook/receive" is cut. Matched on the decoded text so an encoded path is caught too.
 */
const RECEIVE_URL = /\/+webhook\/+receive(?=[^A-Za-z0-9]|$)/i;
const RECEIVE_URL_IN_TEXT = /(\/+webhook\/+receive)(?:\/|%2f)\S*/gi;

function decodedOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Strip secrets from paths like /api/custom-bot/webhook/receive/<secret> and from token query parameters. */
export function redactUrl(url: string): string {
  const decoded = decodedOrRaw(url);
  const m = RECEIVE_URL.exec(decoded);
  if (m) return `${decoded.slice(0, m.index + m[0].length)}/[redacted]`;
  return url.replace(/([?&](?:token|secret|key|access_token|refresh_token|api_key|apikey|password|passphrase)=)[^&]+/gi, '$1[redacted]');
}

/** The same for free text (error messages, stacks): any receive URL inside it loses what follows "receive/". */
export function redactUrlsInText(text: string): string {
  return text.replace(RECEIVE_URL_IN_TEXT, '$1/[redacted]');
}
