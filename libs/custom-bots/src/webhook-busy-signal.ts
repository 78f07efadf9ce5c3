import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { encodeIngestBusy, INGEST_CHANNEL, INGEST_SIGNAL_EVERY_MS } from '@torgovo/trading';
import { WebhookBacklog } from './webhook-backlog';
import { WebhookConfig } from './webhook-config';

/**
 * Tells the workers, through PostgreSQL (a NOTIFY on INGEST_CHANNEL), that this api process has more
 * than WEBHOOK_BUSY_IN_FLIGHT alerts unanswered — a bar close's burst — every INGEST_SIGNAL_EVERY_MS
 * while it lasts; the workers then hold back their claims (trading's IngestYield) so the alerts are
 * answered within TradingView's 3 s, and place the orders after. In flight rather than the oldest
 * alert's wait: at a bar close most of the wait is in the kernel's socket buffers, before this
 * process reads a request, where it cannot be timed; by Little's law the count rises with the arrival
 * rate and with that wait alike, and steady traffic keeps it low (32 busy connections, 32 at most).
 *
 * Only a hint: a signal that fails or comes late only means the workers do not yield.
 */
@Injectable()
export class WebhookBusySignal implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookBusySignal.name);
  private readonly api = `${hostname()}:${process.pid}`;
  private timer?: NodeJS.Timeout;
  private sending = false;
  private episode?: { startedAt: number; signals: number; maxInFlight: number; failed: boolean };

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(WebhookConfig) private readonly config: WebhookConfig,
  ) {}

  /** Watches `backlog` from now on (the receive route's, in the api process). */
  start(backlog: WebhookBacklog): void {
    if (this.timer || this.config.WEBHOOK_BUSY_IN_FLIGHT === 0) return;
    this.timer = setInterval(() => void this.tick(backlog), INGEST_SIGNAL_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the backlog; a signal if it is over the threshold (and the last one has gone). */
  private async tick(backlog: WebhookBacklog): Promise<void> {
    const now = Date.now();
    const inFlight = backlog.size;
    if (inFlight < this.config.WEBHOOK_BUSY_IN_FLIGHT) {
      this.calm(now);
      return;
    }
    if (this.sending) return;
    const e = (this.episode ??= this.begin(now, inFlight));
    e.maxInFlight = Math.max(e.maxInFlight, inFlight);
    this.sending = true;
    try {
      await this.ds.query('SELECT pg_notify($1, $2)', [INGEST_CHANNEL, encodeIngestBusy({ api: this.api, in_flight: inFlight })]);
      e.signals += 1;
    } catch (err) {
      if (!e.failed) this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Webhook intake busy signal not sent; workers will not yield');
      e.failed = true;
    } finally {
      this.sending = false;
    }
  }

  private begin(now: number, inFlight: number): { startedAt: number; signals: number; maxInFlight: number; failed: boolean } {
    this.logger.log({ in_flight: inFlight, threshold: this.config.WEBHOOK_BUSY_IN_FLIGHT }, 'Webhook intake backlogged; asking workers to yield');
    return { startedAt: now, signals: 0, maxInFlight: inFlight, failed: false };
  }

  private calm(now: number): void {
    const e = this.episode;
    if (!e) return;
    this.episode = undefined;
    this.logger.log({ busy_ms: now - e.startedAt, signals: e.signals, max_in_flight: e.maxInFlight }, 'Webhook intake caught up');
  }
}
