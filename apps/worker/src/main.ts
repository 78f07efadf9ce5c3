// First: the heap flags apply from the first collections on.
import './heap-tuning';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppConfig, ConfigError, launchWarning } from '@torgovo/core';
import { lowerProcessPriority } from './process-priority';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const nice = app.get(AppConfig).env.WORKER_NICE;
  const threads = nice > 0 ? lowerProcessPriority(nice) : 0;
  app.get(Logger).log({ nice, threads }, 'Worker started');
  const launch = app.get(AppConfig).isProduction ? launchWarning() : undefined;
  if (launch) app.get(Logger).warn(launch);
}

main().catch((err: unknown) => {
  // Config errors name the variable; print them plainly, without a stack.
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
