import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * The OpenAPI document that /docs-json serves, without a database or a server: the module graph is
 * built in preview mode (no provider runs, nothing connects). The configuration it reads is a
 * placeholder that never reaches anything; the caller's environment is restored afterwards.
 */
export async function previewOpenApiDocument(): Promise<OpenAPIObject> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://openapi-preview.invalid/none',
    JWT_SECRET: 'openapi-preview-placeholder-secret-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    WORKER_ENABLED: 'false',
  });
  try {
    // Imported here: ApiModule.register reads the environment.
    const { ApiModule } = await import('./api.module');
    const { applyGlobalPrefix } = await import('./bootstrap');
    const { buildOpenApiDocument } = await import('./openapi-document');
    const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(), new FastifyAdapter(), { preview: true, logger: false });
    try {
      applyGlobalPrefix(app);
      return await buildOpenApiDocument(app);
    } finally {
      await app.close();
    }
  } finally {
    process.env = saved;
  }
}
