// Small helpers for bench scripts that create their own database on the PostgreSQL at BENCH_PG_ADMIN_URL.
import { Client } from 'pg';

export const BENCH_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** `--name value` from the command line, or the fallback. */
export function benchArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Runs `fn` on a connection to the admin database (CREATE / DROP DATABASE). */
export async function onBenchAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: BENCH_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
