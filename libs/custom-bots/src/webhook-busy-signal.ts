import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { encodeIngestBusy, INGEST_CHANNEL, INGEST_SIGNAL_EVERY_MS } from '@torgovo/trading';
import { WebhookBacklog } from './webhook-backlog';
import { WebhookConfig } from './webhook-config';

interface BusyEpisode {
  startedAt: number;
  signals: number;
  maxInFlight: number;
  /** A NOTIFY failed in this episode (logged once). */
  failed: boolean;
}

/**
 * Tells the workers, through PostgreSQL (a NOTIFY on INGEST_CHANNEL), that this api process has more
 * than WEBHOOK_BUSY_IN_FLIGHT alerts unanswered — a bar close's burst — every INGEST_SIGNAL_EVERY_MS
 * while it lasts, and once that it has cleared; the workers then hold back their claims (trading's IngestYield) so the alerts are
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
  private episode?: BusyEpisode;

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

  /**
   * One look at the backlog: a signal while it is over the threshold, and one `busy: false` when it
   * has cleared, so the workers resume at once rather than when the last signal lapses. One NOTIFY at
   * a time: the next look waits for it (so the calm word cannot overtake a busy one).
   */
  private async tick(backlog: WebhookBacklog): Promise<void> {
    if (this.sending) return;
    const now = Date.now();
    const inFlight = backlog.size;
    const busy = inFlight >= this.config.WEBHOOK_BUSY_IN_FLIGHT;
    const e = busy ? (this.episode ??= this.begin(now, inFlight)) : this.episode;
    if (!e) return;
    if (busy) e.maxInFlight = Math.max(e.maxInFlight, inFlight);
    else this.calm(now, e);
    this.sending = true;
    try {
      await this.ds.query('SELECT pg_notify($1, $2)', [INGEST_CHANNEL, encodeIngestBusy({ api: this.api, in_flight: inFlight, busy })]);
      if (busy) e.signals += 1;
    } catch (err) {
      if (!e.failed) this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Webhook intake busy signal not sent; workers will not yield');
      e.failed = true;
    } finally {
      this.sending = false;
    }
  }

  private begin(now: number, inFlight: number): BusyEpisode {
    this.logger.log({ in_flight: inFlight, threshold: this.config.WEBHOOK_BUSY_IN_FLIGHT }, 'Webhook intake backlogged; asking workers to yield');
    return { startedAt: now, signals: 0, maxInFlight: inFlight, failed: false };
  }

  private calm(now: number, e: BusyEpisode): void {
    this.episode = undefined;
    this.logger.log({ busy_ms: now - e.startedAt, signals: e.signals, max_in_flight: e.maxInFlight }, 'Webhook intake caught up');
  }
}
