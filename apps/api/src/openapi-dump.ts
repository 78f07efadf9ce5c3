import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * `node dist/apps/api/src/openapi-dump.js <file>`: writes the OpenAPI document that /docs-json
 * serves, without a database or a server. The module graph is built in preview mode (no provider
 * runs, nothing connects); the configuration it reads is a placeholder that never reaches one.
 */
async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: openapi-dump <output.json>');
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://openapi-dump.invalid/none',
    JWT_SECRET: 'openapi-dump-placeholder-secret-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    WORKER_ENABLED: 'false',
  });
  // Imported after the environment is set: ApiModule.register reads it.
  const { ApiModule } = await import('./api.module');
  const { buildOpenApiDocument } = await import('./openapi-document');
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(), new FastifyAdapter(), { preview: true, logger: false });
  app.setGlobalPrefix('api', { exclude: ['health'] });
  const document = await buildOpenApiDocument(app);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  console.log(`OpenAPI document: ${out} (${Object.keys(document.paths).length} paths)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
