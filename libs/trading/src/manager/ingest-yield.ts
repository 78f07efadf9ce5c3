import { Inject, Injectable, Logger } from '@nestjs/common';
import { HostCpu, HostCpuReader } from './host-cpu';
import { TradingManagerConfig } from './trading-manager.config';

/**
 * Channel on which an api process says that its webhook intake is backlogged (custom-bots'
 * WebhookBusySignal), while it is: the workers defer their claims so the api gets the CPU.
 */
export const INGEST_CHANNEL = 'torgovo_ingest';

/** What an api process sends on INGEST_CHANNEL. */
export interface IngestBusySignal {
  /** The sending process (host:pid), for the logs. */
  api: string;
  /** Receive requests it had not answered yet. */
  in_flight: number;
  /** false: its backlog is gone (sent once, when it clears); absent counts as true. */
  busy?: boolean;
}

export function encodeIngestBusy(signal: IngestBusySignal): string {
  return JSON.stringify(signal);
}

/** null for anything else (a hint: a payload we cannot read is ignored). */
export function decodeIngestBusy(payload: string | undefined): IngestBusySignal | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as Partial<IngestBusySignal>;
    if (typeof v !== 'object' || v === null || typeof v.in_flight !== 'number' || !Number.isFinite(v.in_flight)) return null;
    return { api: typeof v.api === 'string' ? v.api.slice(0, 100) : '?', in_flight: v.in_flight, busy: v.busy !== false };
  } catch {
    return null;
  }
}

/**
 * An api sends its signal every INGEST_SIGNAL_EVERY_MS while it is backlogged, and one `busy: false`
 * when the backlog clears. A worker counts an api as busy until that, or for this long after its last
 * signal: long enough that an api whose event loop is saturated (its timer late by a few hundred ms)
 * still counts as busy, short enough that claims resume soon after an api died or its last word was lost.
 */
export const INGEST_SIGNAL_EVERY_MS = 100;
export const INGEST_SIGNAL_TTL_MS = 500;

/** How often the host's CPU use is read during an episode, and from what busy share it counts as saturated. */
export const HOST_SAMPLE_MS = 100;
export const HOST_SATURATED = 0.5;

interface Episode {
  startedAt: number;
  /** The last signal, or the last api's word that its backlog cleared. */
  lastAt: number;
  signals: number;
  maxInFlight: number;
  apis: Set<string>;
  /** Polls that found the host saturated and deferred, and polls let through by spare CPU. */
  deferred: number;
  spare: number;
  boundLogged: boolean;
}

/**
 * When this worker holds back its claims for the api (issue 16's bar close). When the api, the worker
 * and PostgreSQL share a host's CPUs, the api taking the alerts in (TradingView gives each request
 * 3 s) competes with the worker placing their orders. Measured on 2 cores, 10,000 alerts sent in one
 * second over connections already open: every alert answered within 3 s in 9 of 10 runs with the
 * yield, in none of 4 without (at best 92 %), while the machine ran fast (bench/RESULTS.md).
 *
 * An episode begins with an api's signal (custom-bots' WebhookBusySignal: more than
 * WEBHOOK_BUSY_IN_FLIGHT alerts unanswered) and lasts until every busy api has said its backlog
 * cleared, or its last signal lapsed (INGEST_SIGNAL_TTL_MS). During it a claim
 * waits while this host's CPUs are at least half busy (over the last 100 ms, /proc/stat). On 2 cores
 * the api and its PostgreSQL backends alone keep them ~88 % busy (the api is one thread; 1.77 cores
 * measured), so the worker waits. Letting it use what they leave did not work: with 90 %, 15 % of
 * the answers were past 3 s again, and with 75 % a moment's lull let in a 500-order live batch that
 * then ran beside the intake (60 % within 3 s in one run of four): a claim, once let in, is a large
 * piece of work. Where the api runs on other hosts, or the host has twice the cores the api and its
 * backends use, it stays under half busy and nothing waits. Where the host's use cannot be read, the
 * signal alone counts.
 *
 * Claims wait for at most TRADING_INGEST_YIELD_MAX_MS of an episode. After that bound the worker
 * claims as usual until the signals stop, so a backlog that does not clear (an api under sustained
 * overload) delays orders once by the bound, never more. TRADING_INGEST_YIELD_MAX_MS=0: never yield.
 *
 * Only the claims of new work wait: orders already claimed, read-backs, the open-orders sync and
 * cancels go on. Nothing depends on the signal for correctness: lost or late, claims simply go on.
 * Times are performance.now(): monotonic, so a wall-clock step (NTP) cannot stretch or cut a wait.
 */
@Injectable()
export class IngestYield {
  private readonly logger = new Logger(IngestYield.name);
  /** Until when each api counts as busy; busyUntil is the latest of them. */
  private readonly apis = new Map<string, number>();
  private busyUntil = 0;
  private episode?: Episode;
  /** The host's CPU (replaced in tests). */
  host: HostCpuReader = new HostCpu();
  private hostBusy: number | null = null;
  private hostReadAt = 0;

  constructor(@Inject(TradingManagerConfig) private readonly config: TradingManagerConfig) {}

  /** An api's signal arrived (payload as sent). True when it ended the wait: claims may go now. */
  note(payload: string | undefined, now = performance.now()): boolean {
    if (this.config.TRADING_INGEST_YIELD_MAX_MS === 0) return false;
    const signal = decodeIngestBusy(payload);
    if (!signal) return false;
    if (!signal.busy) {
      if (!this.apis.delete(signal.api)) return false;
      if (this.episode) this.episode.lastAt = now;
      this.busyUntil = this.latest(now);
      return this.busyUntil <= now;
    }
    if (now >= this.busyUntil) this.end();
    const e = (this.episode ??= this.begin(now, signal));
    e.signals += 1;
    e.lastAt = now;
    e.maxInFlight = Math.max(e.maxInFlight, signal.in_flight);
    e.apis.add(signal.api);
    this.apis.set(signal.api, now + INGEST_SIGNAL_TTL_MS);
    this.busyUntil = this.latest(now);
    return false;
  }

  /** The latest time an api still counts as busy (`now` when none does); lapsed apis are forgotten. */
  private latest(now: number): number {
    let until = now;
    for (const [api, at] of this.apis) {
      if (at <= now) this.apis.delete(api);
      else until = Math.max(until, at);
    }
    return until;
  }

  /** An api's backlog signal is current (whether or not claims wait: the bound, spare CPU). */
  backlogged(now = performance.now()): boolean {
    return this.episode !== undefined && now < this.busyUntil;
  }

  /** How long a claim should wait from `now` (0: claim now). */
  deferMs(now = performance.now()): number {
    const e = this.episode;
    if (!e) return 0;
    if (now >= this.busyUntil) {
      this.end();
      return 0;
    }
    const boundAt = e.startedAt + this.config.TRADING_INGEST_YIELD_MAX_MS;
    if (now >= boundAt) {
      if (!e.boundLogged) {
        e.boundLogged = true;
        this.logger.log({ yielded_ms: now - e.startedAt, max_in_flight: e.maxInFlight }, 'Webhook intake still backlogged after the yield bound; claiming again');
      }
      return 0;
    }
    if (now - this.hostReadAt >= HOST_SAMPLE_MS) {
      this.hostBusy = this.host.busySince();
      this.hostReadAt = now;
    }
    if (this.hostBusy !== null && this.hostBusy < HOST_SATURATED) {
      e.spare += 1;
      return 0;
    }
    e.deferred += 1;
    return Math.max(1, Math.min(this.busyUntil, boundAt, this.hostReadAt + HOST_SAMPLE_MS) - now);
  }

  private begin(now: number, signal: IngestBusySignal): Episode {
    // The baseline of the host's first reading in this episode.
    this.host.busySince();
    this.hostBusy = null;
    this.hostReadAt = now;
    this.logger.log({ api: signal.api, in_flight: signal.in_flight, max_ms: this.config.TRADING_INGEST_YIELD_MAX_MS }, 'Webhook intake backlogged; claims wait while this host is saturated');
    return { startedAt: now, lastAt: now, signals: 0, maxInFlight: 0, apis: new Set(), deferred: 0, spare: 0, boundLogged: false };
  }

  private end(): void {
    const e = this.episode;
    if (!e) return;
    this.episode = undefined;
    this.apis.clear();
    this.logger.log(
      {
        busy_ms: e.lastAt - e.startedAt,
        signals: e.signals,
        max_in_flight: e.maxInFlight,
        apis: e.apis.size,
        polls_deferred: e.deferred,
        polls_with_spare_cpu: e.spare,
      },
      'Webhook intake caught up; claims resume',
    );
  }
}
