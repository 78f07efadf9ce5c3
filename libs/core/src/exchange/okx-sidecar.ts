import { ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/config.service';
import type { ExchangeCredentials } from './credential-tester';
import { fromWireError, OkxCall, OkxCallRunner, OkxTarget } from './okx-calls';
import type { SidecarReply, SidecarRequest } from './okx-sidecar.main';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Child {
  process: ChildProcess;
  /** Resolves when the child has loaded ccxt and listens; rejects if it could not. */
  ready: Promise<void>;
  /** The calls given to this child: its exit fails these, not a later child's. */
  calls: Set<number>;
}

/** Beyond ccxt's own timeout (the call's), how long the parent waits before it gives up on the child. */
const PARENT_GRACE_MS = 5_000;
/** How long the child may take to start and load ccxt. */
const START_TIMEOUT_MS = 30_000;

/** What the child's failure looks like to the error mapping: ccxt's NetworkError (transient, "OKX could not be reached"). */
function processFailure(message: string): Error {
  const error = new Error(message);
  error.name = 'NetworkError';
  return error;
}

/**
 * The OKX call process of a process that does not keep ccxt (the api: OKX_CALLS, CoreModule's
 * okxCalls). Started on the first call, shared by every call after it, ended OKX_SIDECAR_IDLE_SECONDS
 * after the last one answered; a call after that starts it again. A call costs an IPC round trip
 * (~0.1 ms) on top of OKX's answer; the first after a start also waits for the start (~0.3-1 s).
 *
 * What the callers see is what ccxt in this process would have given them: OKX's response, or an
 * error with ccxt's class name, message and socket code, which the error mapping reads as before.
 * If the child dies, or does not answer in the call's timeout plus 5 s, the call fails as
 * NetworkError ("OKX could not be reached"): no call is assumed placed or not placed by the parent,
 * and the callers here (key checks, balances, deposit addresses) never place orders.
 */
@Injectable()
export class OkxSidecar implements OnModuleDestroy {
  private readonly logger = new Logger(OkxSidecar.name);
  private child?: Child;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly idleMs: number;

  constructor(config: AppConfig) {
    this.idleMs = config.env.OKX_SIDECAR_IDLE_SECONDS * 1000;
  }

  /** A runner for one OKX target whose calls run in the call process. */
  runnerFor(target: OkxTarget): OkxCallRunner {
    return { run: (credentials, call, headers) => this.run(target, credentials, call, headers?.()) };
  }

  /** The call process's pid while it runs (tests, the log). */
  get pid(): number | undefined {
    return this.child?.process.pid;
  }

  async run(target: OkxTarget, credentials: ExchangeCredentials | null, call: OkxCall, headers?: Record<string, string>): Promise<unknown> {
    if (this.closed) throw processFailure('the OKX call process is shut down (the app is stopping)');
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    const timeoutMs = (target.timeoutMs ?? 10_000) + PARENT_GRACE_MS;
    const answered = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.logger.warn({ method: call.method, ms: timeoutMs }, 'The OKX call process did not answer in time');
        reject(Object.assign(processFailure(`the OKX call process did not answer within ${timeoutMs} ms`), { name: 'RequestTimeout' }));
        // ccxt's own timeout answers first in a working child: a silent one is replaced (its other calls fail as network trouble).
        if (this.child?.calls.has(id)) this.stop('a call got no answer in time');
        this.idleLater();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    try {
      const child = this.start();
      child.calls.add(id);
      await child.ready;
      const request: SidecarRequest = { id, target, credentials, method: call.method, params: call.params, headers };
      if (!child.process.connected || !child.process.send(request)) {
        // send() returning false only means backpressure; the message is queued. Not connected: the child is gone.
        if (!child.process.connected) throw processFailure('the OKX call process exited before the call was sent');
      }
    } catch (error) {
      this.settle(id, { ok: false, error: error instanceof Error ? error : processFailure(String(error)) });
    }
    return answered;
  }

  onModuleDestroy(): void {
    this.closed = true;
    this.stop('the app is stopping');
  }

  private start(): Child {
    if (this.child) return this.child;
    const started = Date.now();
    const { script, execArgv } = sidecarEntry();
    // Only what node and ccxt need: none of the app's secrets (database, JWT, encryption keys) cross over.
    const env: NodeJS.ProcessEnv = {};
    for (const name of ['PATH', 'NODE_ENV', 'TZ']) if (process.env[name] !== undefined) env[name] = process.env[name];
    const proc = fork(script, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => ((readyResolve = resolve), (readyReject = reject)));
    ready.catch(() => undefined); // observed by the calls that await it
    const startTimer = setTimeout(() => readyReject(processFailure(`the OKX call process did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    // The child never keeps this process alive on its own: a call in flight does (its timer).
    proc.unref();
    proc.channel?.unref();
    const child: Child = { process: proc, ready, calls: new Set() };
    this.child = child;
    proc.on('message', (message: SidecarReply | { ready: boolean; error?: { name: string; message: string } }) => {
      if ('ready' in message) {
        clearTimeout(startTimer);
        if (message.ready) {
          this.logger.log({ pid: proc.pid, ms: Date.now() - started }, 'OKX call process started');
          readyResolve();
        } else {
          readyReject(processFailure(`the OKX call process could not load ccxt: ${message.error?.message ?? 'unknown'}`));
          this.stop('it could not load ccxt');
        }
        return;
      }
      child.calls.delete(message.id);
      this.settle(message.id, message.ok ? { ok: true, result: message.result } : { ok: false, error: fromWireError(message.error) });
    });
    proc.on('error', (error) => this.logger.warn({ pid: proc.pid, err: error.message }, 'OKX call process error'));
    proc.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      readyReject(processFailure(`the OKX call process exited (code ${code ?? 'none'}, signal ${signal ?? 'none'}) before it was ready`));
      if (this.child === child) this.child = undefined;
      // Only this child's calls: after an idle end, a call may already run in the next child.
      const lost = [...child.calls].filter((id) => this.pending.has(id));
      for (const id of lost) this.settle(id, { ok: false, error: processFailure('the OKX call process exited before it answered') });
      if (lost.length > 0 || (code !== 0 && signal !== 'SIGTERM')) {
        this.logger.warn({ pid: proc.pid, code, signal, calls_lost: lost.length }, 'OKX call process exited');
      }
    });
    return child;
  }

  private settle(id: number, outcome: { ok: true; result: unknown } | { ok: false; error: Error }): void {
    const pending = this.pending.get(id);
    if (!pending) return; // timed out already
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome.ok) pending.resolve(outcome.result);
    else pending.reject(outcome.error);
    this.idleLater();
  }

  /** Ends the child OKX_SIDECAR_IDLE_SECONDS after the last call answered, if none came since. */
  private idleLater(): void {
    if (this.pending.size > 0 || !this.child) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) this.stop('idle');
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private stop(why: string): void {
    clearTimeout(this.idleTimer);
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.logger.log({ pid: child.process.pid, why }, 'OKX call process ending');
    // Closing the channel ends it (okx-sidecar.main exits on disconnect); a kill if it does not.
    if (child.process.connected) child.process.disconnect();
    const kill = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
    kill.unref();
    child.process.once('exit', () => clearTimeout(kill));
  }
}

/**
 * The child's entry: the compiled okx-sidecar.main.js beside this file. Run from TypeScript sources
 * (tests, ts-node), the .ts entry with the repository's swc register (test/support/swc-register.js,
 * the compiler the tests use); its imports are relative, so no path mapping is needed.
 */
function sidecarEntry(): { script: string; execArgv: string[] } {
  const js = join(__dirname, 'okx-sidecar.main.js');
  if (existsSync(js)) return { script: js, execArgv: [] };
  const ts = join(__dirname, 'okx-sidecar.main.ts');
  const root = join(__dirname, '..', '..', '..', '..');
  return { script: ts, execArgv: ['-r', join(root, 'test', 'support', 'swc-register.js')] };
}
