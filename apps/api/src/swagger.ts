import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '@torgovo/core';
import { PasswordService, UsersService } from '@torgovo/users';

/**
 * /docs and /docs-json. In production they are for admins only: a browser cannot send a
 * bearer token on navigation, so the UI is guarded by HTTP Basic with an admin's credentials.
 */
export function setupSwagger(app: NestFastifyApplication, config: AppConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Torgovo API')
      .setDescription('Crypto trading-bot platform. All paths are under /api. See API_DOCUMENTATION.md.')
      .setVersion('1.0')
      .addBearerAuth()
      .build(),
  );
  if (config.isProduction) {
    const users = app.get(UsersService);
    const passwords = app.get(PasswordService);
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        if (!req.url.startsWith('/docs')) return;
        const header = req.headers.authorization ?? '';
        const [scheme, encoded] = header.split(' ');
        if (scheme === 'Basic' && encoded) {
          const decoded = Buffer.from(encoded, 'base64').toString('utf8');
          const sep = decoded.indexOf(':');
          const user = await users.findByEmailWithHash(decoded.slice(0, sep));
          if (user?.role === 'admin' && user.is_active && (await passwords.verify(user.password_hash, decoded.slice(sep + 1)))) return;
        }
        await reply.header('www-authenticate', 'Basic realm="torgovo-docs"').code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Admin credentials required' });
      });
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
}
