import { Logger } from '@nestjs/common';
import { Client, DatabaseError } from 'pg';
import type { DataSource } from 'typeorm';
import type { DatabaseUrlProvider } from './database.module';

const PROBE_TIMEOUT_MS = 3_000;
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** Reconnect delay: exponential with ±20 % jitter, capped. */
function reconnectDelayMs(failures: number): number {
  const exp = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.max(1, Math.round(Math.min(RECONNECT_MAX_MS, exp * (1 + (Math.random() * 2 - 1) * 0.2))));
}

export interface PgNotifyListenerOptions {
  channel: string;
  /** More channels LISTENed on the same connection; onWake is told which channel each notification came on. */
  alsoChannels?: readonly string[];
  /** application_name of the connection, and the logger's context. */
  name: string;
  /** What the log lines call it ("Order notifications"). */
  label: string;
}

/** A notification's channel and payload; both undefined for the catch-up call after each (re)connect. */
export type PgNotifyWake = (channel?: string, payload?: string) => void;

/**
 * One dedicated connection (not from the TypeORM pool: a pooled one is shared and returned) that
 * LISTENs on one channel (and any `alsoChannels`) and calls `onWake` for every notification. Only a
 * hint: losing it (error, end, unsupported server) never loses work, the owner's poll still finds it.
 */
export class PgNotifyListener {
  private readonly logger: Logger;
  private readonly channel: string;
  private readonly channels: readonly string[];
  private client?: Client;
  private onWake?: PgNotifyWake;
  private active = false;
  private closing?: Promise<void>;
  /** A notification sent from another connection has reached us once: delivery works here. */
  private verified = false;
  private failures = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;

  constructor(
    private readonly urls: DatabaseUrlProvider,
    private readonly ds: DataSource,
    private readonly options: PgNotifyListenerOptions,
  ) {
    this.logger = new Logger(options.name);
    this.channel = options.channel;
    this.channels = [options.channel, ...(options.alsoChannels ?? [])];
  }

  /** True once LISTEN is set up and delivery was confirmed (for tests and health). */
  get listening(): boolean {
    return this.active && this.verified && this.client !== undefined;
  }

  start(onWake: PgNotifyWake): void {
    if (this.active) return;
    this.active = true;
    this.closing = undefined;
    this.onWake = onWake;
    this.connectSafely();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.active = false;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.probeTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private connectSafely(): void {
    // Only the URL lookup can throw outside connect()'s own handling; polling goes on regardless.
    this.connect().catch((err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `${this.options.label} not started`));
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: await this.urls.url(),
      application_name: this.options.name,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // An idle listener sends nothing: TCP keepalive is what notices a silently dead peer.
      keepAlive: true,
    });
    if (!this.active) return;
    this.client = client;
    client.on('notification', (n) => {
      if (client !== this.client || !this.channels.includes(n.channel)) return;
      if (!this.verified && n.channel === this.channel) {
        this.verified = true;
        clearTimeout(this.probeTimer);
      }
      this.onWake?.(n.channel, n.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
    } catch (err) {
      return this.lost(client, err);
    }
    try {
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      // The server refused LISTEN itself (not a lost connection or a shutdown): retrying will not help.
      const refused = err instanceof DatabaseError && !/^(08|57)/.test(err.code ?? '');
      return refused ? this.unsupported(client, `LISTEN refused: ${err.message}`) : this.lost(client, err);
    }
    if (!this.active || client !== this.client) return;
    this.failures = 0;
    if (!this.verified) void this.probe(client);
    // Changes made while we were not listening: one pass instead of waiting for the poll.
    this.onWake?.();
  }

  /**
   * LISTEN can succeed without notifications ever arriving: PGlite behind pglite-socket is one
   * backend for all sockets and answers a NOTIFY on the socket that sent it. So send one from the
   * pool and see whether it reaches this connection.
   */
  private async probe(client: Client): Promise<void> {
    this.probeTimer = setTimeout(() => void this.unsupported(client, 'a NOTIFY from another connection did not arrive'), PROBE_TIMEOUT_MS);
    this.probeTimer.unref();
    try {
      await this.ds.query('SELECT pg_notify($1, $2)', [this.channel, 'probe']);
    } catch (err) {
      // The pool is failing too; the next (re)connect probes again.
      clearTimeout(this.probeTimer);
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `${this.options.label} NOTIFY probe failed`);
    }
  }

  private async unsupported(client: Client, reason: string): Promise<void> {
    if (!this.active || client !== this.client) return;
    this.logger.log({ reason }, `${this.options.label} unavailable on this database; polling only`);
    this.active = false;
    this.client = undefined;
    // UNLISTEN first: on PGlite the LISTEN belongs to the one shared backend and would outlive us.
    for (const channel of this.channels) await client.query(`UNLISTEN ${channel}`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private lost(client: Client, err: unknown): void {
    if (client !== this.client) return;
    this.client = undefined;
    clearTimeout(this.probeTimer);
    client.removeAllListeners('notification');
    // Keep an 'error' handler: pg may still emit one on this dead client.
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (!this.active) return;
    this.failures += 1;
    const delay = reconnectDelayMs(this.failures);
    this.logger.warn(
      { err: err instanceof Error ? err.message : String(err), retry_in_ms: delay },
      `${this.options.label} connection lost; polling meanwhile`,
    );
    this.reconnectTimer = setTimeout(() => this.connectSafely(), delay);
    this.reconnectTimer.unref();
  }
}
