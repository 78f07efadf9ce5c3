// The chaos run's processes: the built api and worker (dist/), restarted after every kill -9, and
// the fakes (bench/chaos/fake-process.ts). Each child's output goes to a file in the run directory,
// read at the end for secrets.
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port, from the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a fake (TypeScript compiled by swc as jest compiles it: test/support/swc-register.js) and waits for its ready JSON line. */
export async function spawnFake<T>(args: string[], logFile: string): Promise<{ ready: T; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-r', join(ROOT, 'test/support/swc-register.js'), '-r', 'tsconfig-paths/register', join(ROOT, 'bench/chaos/fake-process.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  const ready = await new Promise<T>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`fake ${args[0]} not ready`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as T);
      }
    });
    child.once('exit', (code) => reject(new Error(`fake ${args[0]} exited with ${code}`)));
  });
  return { ready, child };
}

/** One api or worker slot: the same command, port and log file after every restart. */
export class Slot {
  private child?: ChildProcess;
  private readonly logFile: string;
  /** Set by stop(): a restart scheduled after a kill does not bring it back. */
  private stopped = false;
  starts = 0;
  kills = 0;
  /** Started and answering (api: /health); false from a kill until the restart is ready. */
  up = false;

  constructor(
    readonly name: string,
    readonly kind: 'api' | 'worker',
    readonly env: NodeJS.ProcessEnv,
    readonly port: number | null,
    logDir: string,
  ) {
    this.logFile = join(logDir, `${name}.log`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string | null {
    return this.port === null ? null : `http://127.0.0.1:${this.port}`;
  }

  start(): void {
    if (this.stopped) return;
    const script = this.kind === 'api' ? 'dist/apps/api/src/main.js' : 'dist/apps/worker/src/main.js';
    // Straight to the file: a busy driver must never stall a child writing its log (a full pipe blocks pino).
    const fd = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [join(ROOT, script)], {
      cwd: ROOT,
      env: { ...this.env, ...(this.port !== null ? { PORT: String(this.port) } : {}) },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.starts += 1;
  }

  /** kill -9: no shutdown hook runs, whatever it was doing stops at that instruction. */
  kill9(): void {
    if (!this.running) return;
    this.up = false;
    this.child!.kill('SIGKILL');
    this.kills += 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.up = false;
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
  }

  /** The api answers /health (the worker: it is running). */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting (see its log)`);
      if (this.url === null) return void (this.up = true);
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.status < 500) return void (this.up = true);
      } catch {
        /* not listening yet */
      }
      await sleep(250);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
  }
}
