import { stdSerializers } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
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
            // Health probes are noise (and the prefix-excluded path was logged twice on Fastify).
            exclude: [{ method: RequestMethod.ALL, path: 'health' }],
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
                // hash, an encrypted key…): never logged.
                err: (e: Error) => {
                  const out = stdSerializers.err(e) as unknown as Record<string, unknown>;
                  for (const k of ['parameters', 'query', 'driverError']) delete out[k];
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
              transport: config.env.LOG_PRETTY && !options.destination ? { target: 'pino-pretty' } : undefined,
              stream: options.destination,
            },
          }),
        }),
      ],
    };
  }
}

/** Strip secrets from paths like /api/custom-bot/webhook/receive/<secret>. */
export function redactUrl(url: string): string {
  return url.replace(/(\/webhook\/receive\/)[^/?]+/, '$1[redacted]').replace(/([?&](?:token|secret|key|access_token|refresh_token|api_key|apikey|password|passphrase)=)[^&]+/gi, '$1[redacted]');
}
