import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from './app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** Runs `apps/cli` (as `npm run cli -- …` does) against the test app's database; rejects on a non-zero exit. */
export function runCli(t: TestApp, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: t.db.url,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    NODE_OPTIONS: '',
    ...env,
  };
  delete childEnv.ADMIN_EMAIL;
  return run(process.execPath, ['-r', './test/support/swc-register.js', '-r', 'tsconfig-paths/register', 'apps/cli/src/main.ts', ...args], {
    cwd: ROOT,
    env: childEnv,
    timeout: 60_000,
  });
}
