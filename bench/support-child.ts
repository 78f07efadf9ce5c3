// Spawning the bench's server processes: each server runs in its own Node process (its own event
// loop and core), apart from the load generator, as api and sender would in production.
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const ROOT = join(__dirname, '..');

export interface Child<T> {
  ready: T;
  /** The server's process id (for its memory), when known. */
  pid?: number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** The stdout line that means ready (default: the first JSON line, which is then the result). */
  readyWhen?: (line: string) => boolean;
  /** What that line means (default: the line parsed as JSON). */
  readyValue?: (line: string) => unknown;
  /** Prints no ready line: resolve as soon as it is spawned (the caller checks readiness its own way). */
  noReadyLine?: boolean;
  /** `script` is compiled JavaScript (dist/…): run it with plain node. */
  plainNode?: boolean;
  /** Run with ts-node's transpile-only mode (no type check: starts in seconds, as jest's swc does). */
  transpileOnly?: boolean;
  /** Plain node with test/support/swc-register.js: no ts-node (and no `domain` module) in the process. */
  swc?: boolean;
  timeoutMs?: number;
}

/**
 * The test-database run id handed to the children (test/support/database.ts names its template and
 * clones after it), so the bench can drop what it created, as jest's global teardown does.
 */
export const BENCH_RUN = `bench${Math.floor(Date.now() / 1000).toString(36)}${randomBytes(3).toString('hex')}`;

export async function dropBenchDatabases(): Promise<void> {
  const client = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`torgovo\\_%\\_${BENCH_RUN}%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Runs `npx ts-node -r tsconfig-paths/register <script> …args` and waits (bounded) for its ready line. */
export async function spawnServer<T>(script: string, args: string[], options: SpawnOptions = {}): Promise<Child<T>> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const readyWhen = options.readyWhen ?? ((line: string) => line.startsWith('{'));
  const tsNode = [join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), ...(options.transpileOnly ? ['--transpile-only'] : [])];
  const argv = options.plainNode
    ? [join(ROOT, script), ...args]
    : options.swc
      ? ['-r', join(ROOT, 'test', 'support', 'swc-register.js'), '-r', 'tsconfig-paths/register', join(ROOT, script), ...args]
      : [...tsNode, '-r', 'tsconfig-paths/register', join(ROOT, script), ...args];
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", not allowed in NODE_OPTIONS): node flags for every child.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...argv], {
    cwd: ROOT,
    env: { ...(options.env ?? process.env), TORGOVO_TEST_RUN: BENCH_RUN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // BENCH_CHILD_LOG_DIR: each child's stdout also goes to a file there (e.g. with BENCH_NODE_ARGS="--trace-gc").
  if (process.env.BENCH_CHILD_LOG_DIR) {
    child.stdout?.pipe(createWriteStream(join(process.env.BENCH_CHILD_LOG_DIR, `${script.replace(/\W+/g, '_')}.${child.pid}.log`)));
  }
  const ready = await new Promise<T>((resolve, reject) => {
    if (options.noReadyLine) {
      child.stdout?.resume();
      child.once('exit', (code) => console.error(`${script} exited with ${code}`));
      return resolve(undefined as T);
    }
    let buffer = '';
    let done = false;
    const timer = setTimeout(() => reject(new Error(`${script} not ready after ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (done) return; // keep draining the pipe, stop keeping it
      buffer += chunk.toString('utf8');
      const line = buffer.split('\n').find(readyWhen);
      if (line) {
        done = true;
        clearTimeout(timer);
        resolve((options.readyValue ? options.readyValue(line) : JSON.parse(line)) as T);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}`));
    });
  });
  return {
    ready,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Samples the 1-minute load average every second while `work` runs: [min, max]. */
export async function withLoad<T>(work: () => Promise<T>): Promise<{ result: T; load: [number, number] }> {
  const samples: number[] = [loadavg()[0]];
  const timer = setInterval(() => samples.push(loadavg()[0]), 1000);
  try {
    const result = await work();
    samples.push(loadavg()[0]);
    return { result, load: [Math.min(...samples), Math.max(...samples)] };
  } finally {
    clearInterval(timer);
  }
}

/** CPU time (user + system) a process has used so far, in ms (from /proc/<pid>/stat; 0 if gone). */
export function cpuMsOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/**
 * CPU ms of named processes between `start()` and `stop()`, e.g. the api, the worker, the fake OKX,
 * and the PostgreSQL backends serving one database (listed by `pids`, sampled every 250 ms in
 * between: a backend that comes during the run counts from 0, one that ends counts until its last sample).
 */
export class CpuMeter {
  private readonly at0 = new Map<string, number>();
  private readonly last = new Map<string, { name: string; ms: number }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: () => Promise<Array<{ name: string; pid: number | undefined }>>) {}

  async start(): Promise<void> {
    for (const { name, pid } of await this.pids()) {
      if (pid) this.at0.set(`${name}:${pid}`, cpuMsOf(pid));
    }
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 250);
  }

  /** CPU ms by name since start(), and stops sampling. */
  async stop(): Promise<Record<string, number>> {
    clearInterval(this.timer);
    return this.read();
  }

  /** CPU ms by name since start(), sampling on. */
  async read(): Promise<Record<string, number>> {
    await this.sample();
    const out: Record<string, number> = {};
    for (const [key, { name, ms }] of this.last) out[name] = (out[name] ?? 0) + ms - (this.at0.get(key) ?? 0);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v)]));
  }

  private async sample(): Promise<void> {
    for (const { name, pid } of await this.pids()) {
      if (!pid) continue;
      const ms = cpuMsOf(pid);
      if (ms > 0) this.last.set(`${name}:${pid}`, { name, ms });
    }
  }
}

/**
 * The PostgreSQL backends connected to database `name` (through `query`, on that server), named
 * `postgres (<application_name>)`: whose statements they run (api, worker, the bench's own).
 */
export async function pgBackends(query: (sql: string, params: unknown[]) => Promise<unknown>, name: string): Promise<Array<{ name: string; pid: number }>> {
  const rows = (await query(`SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = $1`, [name])) as Array<{ pid: number; app: string }>;
  return rows.map((r) => ({ name: `postgres (${r.app || '?'})`, pid: r.pid }));
}
