// First: the heap flags apply from the first collections on.
import './heap-tuning';
import 'reflect-metadata';
import { AppConfig, ConfigError, launchWarning } from '@torgovo/core';
import { createApiApp } from './bootstrap';

async function main(): Promise<void> {
  const started = Date.now();
  const app = await createApiApp();
  const config = app.get(AppConfig);
  await app.listen({ port: config.env.PORT, host: '0.0.0.0', backlog: config.env.HTTP_LISTEN_BACKLOG });
  const mode = config.embedded ? 'embedded PostgreSQL (PGlite)' : 'PostgreSQL';
  console.log(
    `Torgovo api listening on http://localhost:${config.env.PORT} (${mode}, worker ${config.workerEnabled ? 'in process' : 'separate'}) ` +
      `in ${Date.now() - started} ms; docs at /docs`,
  );
  const launch = config.isProduction ? launchWarning() : undefined;
  if (launch) console.warn(launch);
}

main().catch((err: unknown) => {
  // Config errors name the variable; print them plainly, without a stack.
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
