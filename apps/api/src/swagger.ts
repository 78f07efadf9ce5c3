import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig, AuditService } from '@torgovo/core';
import { PasswordService, UsersService } from '@torgovo/users';
import { buildOpenApiDocument } from './openapi-document';

const documents = new WeakMap<NestFastifyApplication, OpenAPIObject>();

/** The document this app serves at /docs-json (the e2e response check reads it). */
export function servedOpenApiDocument(app: NestFastifyApplication): OpenAPIObject | undefined {
  return documents.get(app);
}

/**
 * /docs and /docs-json. In production they are for admins only: a browser cannot send a
 * bearer token on navigation, so the UI is guarded by HTTP Basic with an admin's credentials.
 */
export async function setupSwagger(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const document = await buildOpenApiDocument(app);
  documents.set(app, document);
  if (config.isProduction) {
    const users = app.get(UsersService);
    const passwords = app.get(PasswordService);
    const audit = app.get(AuditService);
    const throttle = app.get(ThrottlerStorage);
    const { AUTH_THROTTLE_LIMIT: limit, AUTH_THROTTLE_TTL_SECONDS: ttlSeconds } = config.env;
    const refuse = (reply: FastifyReply, status = 401) =>
      reply
        .header('www-authenticate', 'Basic realm="torgovo-docs"')
        .code(status)
        .send({ statusCode: status, error: status === 429 ? 'Too Many Requests' : 'Unauthorized', message: 'Admin credentials required' });
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        if (!isDocsRequest(req)) return;
        try {
          const header = req.headers.authorization ?? '';
          const [scheme, encoded] = header.split(' ');
          if (scheme === 'Basic' && encoded) {
            // Same limit as login, per address: this is a password check too.
            const hits = await throttle.increment(`docs:${req.ip}`, ttlSeconds * 1000, limit, ttlSeconds * 1000, 'auth');
            if (hits.isBlocked || hits.totalHits > limit) return await refuse(reply, 429);
            const decoded = Buffer.from(encoded, 'base64').toString('utf8');
            const sep = decoded.indexOf(':');
            const email = sep > 0 ? decoded.slice(0, sep) : '';
            const password = sep > 0 ? decoded.slice(sep + 1) : '';
            if (email && !hasControlChars(decoded)) {
              const user = await users.findByEmailWithHash(email);
              // Always one argon2 verification (a dummy hash for an unknown email): no timing oracle for admin emails.
              const ok = await passwords.verify(user?.password_hash, password);
              if (ok && user?.role === 'admin' && user.is_active) return;
              await audit.record({ event_type: 'auth.docs_login_failed', user_id: user?.id ?? null, ip: req.ip, user_agent: req.headers['user-agent'] ?? null });
            }
          }
        } catch {
          // Anything unexpected is a refusal, never a 500 and never a way in.
        }
        await refuse(reply);
      });
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
}

/** Control characters (NUL included) never belong in credentials; PostgreSQL refuses NUL in text. */
function hasControlChars(s: string): boolean {
  return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** By the route Fastify matched (it decodes %64ocs), with the decoded path as a fallback. */
function isDocsRequest(req: FastifyRequest): boolean {
  const route = req.routeOptions?.url ?? '';
  let path = req.url.split('?')[0];
  try {
    path = decodeURIComponent(path);
  } catch {
    return route.startsWith('/docs');
  }
  return route.startsWith('/docs') || path.toLowerCase().startsWith('/docs');
}
