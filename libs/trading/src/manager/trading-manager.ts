import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig, isCcxtLoaded, loadOkxClass } from '@torgovo/core';
import { ExchangeCredentialsService } from '@torgovo/users';
import { ClaimedOrder, OrderClaimer, queueKeyOf } from './order-claimer';
import { INGEST_CHANNEL, IngestYield } from './ingest-yield';
import { LiveReadBacks } from './live-read-backs';
import { OrderBatchExecutor } from './order-batch-executor';
import { ExecutionResult, OrderExecutor } from './order-executor';
import { OpenOrdersSync, SyncResult } from './open-orders-sync';
import { OrderNotifyListener } from './order-notify-listener';
import { OrderTransitions } from './order-transitions';
import { TradingManagerConfig } from './trading-manager.config';

interface InFlight {
  /** queueKeyOf(order): one order per queue in flight. */
  queue: string;
  done: Promise<ExecutionResult>;
}

/**
 * The worker loop: every TRADING_POLL_MS (and at once whenever a slot frees up) it claims due
 * orders, one per queue (credential: a user's paper and live accounts apart): live orders for the
 * free slots — at most TRADING_CONCURRENCY in flight, each executed alone (network calls) — and paper
 * orders in batches of up to TRADING_PAPER_BATCH_SIZE, at most TRADING_PAPER_BATCHES batches in
 * flight, each executed with a fixed number of transactions (OrderBatchExecutor) — with
 * TRADING_LIVE_BATCH_SIZE > 0 live orders too, in batches of that size, at most TRADING_LIVE_BATCHES
 * in flight (orders a batch does not cover run alone inside it); every TRADING_SYNC_INTERVAL_MS it syncs open orders. The timers only trigger: the work is
 * claimed in PostgreSQL, so any number of workers share the queue. With TRADING_NOTIFY_ENABLED a
 * NOTIFY from the orders trigger also starts a pass, so a new order does not wait for the poll.
 */
@Injectable()
export class TradingManager implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(TradingManager.name);
  private readonly inFlight = new Map<string, InFlight>();
  /** Live orders in flight (each alone) and paper batches in flight. */
  private liveInFlight = 0;
  private paperBatches = 0;
  /** Live batches in flight (TRADING_LIVE_BATCH_SIZE > 0: live orders are claimed in batches too). */
  private liveBatches = 0;
  /** Claims under way (poll or runOnce): stop() waits for them, and they claim nothing once it began. */
  private readonly claiming = new Set<Promise<InFlight[]>>();
  private readonly halted = new AbortController();
  private running = false;
  private stopping = false;
  private filling = false;
  private refill = false;
  private pollTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private syncing?: Promise<unknown>;
  private listenerClosed?: Promise<void>;

  constructor(
    private readonly claimer: OrderClaimer,
    private readonly executor: OrderExecutor,
    private readonly batches: OrderBatchExecutor,
    private readonly sync: OpenOrdersSync,
    private readonly listener: OrderNotifyListener,
    private readonly transitions: OrderTransitions,
    private readonly readBacks: LiveReadBacks,
    private readonly ingest: IngestYield,
    private readonly credentials: ExchangeCredentialsService,
    private readonly app: AppConfig,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.TRADING_MANAGER_ENABLED) this.start();
  }

  onModuleDestroy(): void {
    this.halt();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.running || this.stopping) return;
    this.running = true;
    this.schedulePoll(0);
    if (this.config.TRADING_SYNC_INTERVAL_MS > 0) this.scheduleSync();
    if (this.config.TRADING_NOTIFY_ENABLED) this.listener.start((channel, payload) => {
        // An api's word that its backlog cleared wakes the loop at once, as a new order does.
        if (channel !== INGEST_CHANNEL || this.ingest.note(payload)) this.wake();
      });
    void this.warmLiveClient();
    this.logger.log(
      {
        poll_ms: this.app.env.TRADING_POLL_MS,
        concurrency: this.app.env.TRADING_CONCURRENCY,
        paper_batch_size: this.config.TRADING_PAPER_BATCH_SIZE,
        paper_batches: this.config.TRADING_PAPER_BATCHES,
        live_batch_size: this.config.TRADING_LIVE_BATCH_SIZE,
        live_sends_in_flight: this.config.TRADING_LIVE_SENDS_IN_FLIGHT,
        notify: this.config.TRADING_NOTIFY_ENABLED,
        ingest_yield_max_ms: this.config.TRADING_INGEST_YIELD_MAX_MS,
      },
      'TradingManager started',
    );
  }

  /**
   * Graceful stop: no new claims, then wait (bounded) for a claim under way and the orders in flight.
   * A claim still running after the grace claims nothing (it rolls back). Orders still running
   * after the grace stay `submitting` and are reconciled by whichever worker claims them after the lease.
   */
  async stop(graceMs = this.config.TRADING_SHUTDOWN_GRACE_MS): Promise<void> {
    this.halt();
    await this.listenerClosed;
    // Queued read-backs are dropped at once, and so are those the orders still in flight would queue
    // (their orders are `open`: the next sync reads them); the running ones are awaited.
    const pending: Promise<unknown>[] = [...this.claiming, ...[...this.inFlight.values()].map((f) => f.done), this.readBacks.close()];
    if (this.syncing) pending.push(this.syncing);
    const drained = Promise.allSettled(pending);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.warn({ in_flight: this.inFlight.size }, 'Stopped with orders in flight; their lease will expire');
  }

  /**
   * Loads ccxt's OKX module now if any user has an exchange connected (a paper-only worker never
   * loads it): otherwise the first live order after a start pays for it — 0.2-0.6 s of module
   * loading on the critical path of the first bar close after a deploy (bench/burst profile).
   */
  async warmLiveClient(): Promise<boolean> {
    try {
      if (isCcxtLoaded() || !(await this.credentials.anyConnected())) return false;
      const started = Date.now();
      loadOkxClass();
      this.logger.log({ ms: Date.now() - started }, 'Exchange client loaded at start');
      return true;
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Exchange client not loaded at start; it loads with the first live order');
      return false;
    }
  }

  /**
   * One claim for the free slots, awaiting those orders — and the read-backs of the live ones a batch
   * recorded `open` (their status as read back): for tests and tools (works with the loop off).
   */
  async runOnce(): Promise<ExecutionResult[]> {
    const reads = this.readBacks.track();
    try {
      const launched = await this.claimAndLaunch();
      const results = await Promise.all(launched.map((f) => f.done));
      return await Promise.all(
        results.map(async (r) => {
          const read = r.status === 'open' ? await reads.results.get(r.orderId) : undefined;
          return read?.applied ? { ...r, status: read.outcome.status } : r;
        }),
      );
    } finally {
      reads.stop();
    }
  }

  /** Claims until nothing is due (or the deadline passes); for tests. */
  async runUntilIdle(timeoutMs = 30_000): Promise<ExecutionResult[]> {
    const deadline = Date.now() + timeoutMs;
    const all: ExecutionResult[] = [];
    for (;;) {
      const batch = await this.runOnce();
      all.push(...batch);
      if (batch.length === 0 || Date.now() > deadline) return all;
    }
  }

  syncOpenOrders(): Promise<SyncResult | null> {
    return this.sync.tick();
  }

  private halt(): void {
    this.stopping = true;
    this.halted.abort();
    this.running = false;
    clearTimeout(this.pollTimer);
    clearTimeout(this.syncTimer);
    this.listenerClosed = this.listener.close();
  }

  /** A NOTIFY: a pass now, coalesced by poll() with any pass already running. */
  private wake(): void {
    if (this.running) void this.poll();
  }

  private schedulePoll(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => void this.poll(), delayMs);
    this.pollTimer.unref();
  }

  private scheduleSync(): void {
    this.syncTimer = setTimeout(() => {
      this.syncing = this.sync
        .tick()
        .catch((err: unknown) => this.logger.error({ err }, 'Open orders sync failed'))
        .finally(() => {
          this.syncing = undefined;
          if (this.running) this.scheduleSync();
        });
    }, this.config.TRADING_SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  /**
   * Coalesced: a completion during a claim asks for one more round instead of a parallel claim.
   * While an api's webhook intake is backlogged (IngestYield) no round claims: the next poll comes
   * when the yield ends. runOnce() (tests, tools) does not yield.
   */
  private async poll(): Promise<void> {
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    let next = this.app.env.TRADING_POLL_MS;
    try {
      do {
        this.refill = false;
        const wait = this.ingest.deferMs();
        if (wait > 0) {
          next = Math.min(next, wait);
          break;
        }
        await this.claimAndLaunch();
      } while (this.refill && this.running);
    } finally {
      this.filling = false;
      this.schedulePoll(next);
    }
  }

  private claimAndLaunch(): Promise<InFlight[]> {
    if (this.stopping) return Promise.resolve([]);
    const work = this.claimAndLaunchNow();
    this.claiming.add(work);
    void work.finally(() => this.claiming.delete(work));
    return work;
  }

  private async claimAndLaunchNow(): Promise<InFlight[]> {
    const busy = [...new Set([...this.inFlight.values()].map((f) => f.queue))];
    const liveBatched = this.config.TRADING_LIVE_BATCH_SIZE > 0;
    const freeLive = liveBatched
      ? this.liveBatches < this.config.TRADING_LIVE_BATCHES
        ? this.config.TRADING_LIVE_BATCH_SIZE
        : 0
      : this.app.env.TRADING_CONCURRENCY - this.liveInFlight;
    const paperLimit = this.paperBatches < this.config.TRADING_PAPER_BATCHES ? this.config.TRADING_PAPER_BATCH_SIZE : 0;
    if (freeLive <= 0 && paperLimit === 0) return [];
    // Counted as in flight from the claim on, so a concurrent pass (runOnce beside the loop) does not claim a batch beyond the cap.
    if (paperLimit > 0) this.paperBatches += 1;
    if (liveBatched && freeLive > 0) this.liveBatches += 1;
    // A live claim counts as sends under way (read-backs wait behind it) until its batch took over.
    const claimingLive = liveBatched && freeLive > 0 ? this.readBacks.sendsUnderWay() : () => undefined;
    // claim() answers [] on failure: it never throws.
    const [live, paper] = await Promise.all([this.claim(freeLive, busy, 'live'), this.claim(paperLimit, busy, 'paper')]).finally(() => setImmediate(claimingLive));
    // Full: more live orders are due than one batch takes — their read-backs wait behind the placements.
    if (liveBatched && freeLive > 0 && live.length >= freeLive) this.readBacks.noteBacklog();
    if (paperLimit > 0 && paper.length === 0) this.paperBatches -= 1;
    if (liveBatched && freeLive > 0 && live.length === 0) this.liveBatches -= 1;
    if (this.stopping) {
      // Committed just as the stop began: nothing is executed after stop(), so the claims go back.
      if (paper.length > 0) this.paperBatches -= 1;
      if (liveBatched && live.length > 0) this.liveBatches -= 1;
      await Promise.all([...live, ...paper].map((o) => this.transitions.release({ id: o.id, attempts: o.attempts }).catch(() => false)));
      return [];
    }
    if (liveBatched) return [...this.launchBatch(live, 'live'), ...this.launchBatch(paper, 'paper')];
    return [...live.map((order) => this.launch(order)), ...this.launchBatch(paper, 'paper')];
  }

  private async claim(limit: number, busy: string[], mode: 'paper' | 'live'): Promise<ClaimedOrder[]> {
    if (limit <= 0) return [];
    try {
      return await this.claimer.claim(limit, this.config.TRADING_LEASE_MS, busy, this.halted.signal, mode);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), mode }, 'Claiming orders failed; retrying next poll');
      return [];
    }
  }

  private launch(order: ClaimedOrder): InFlight {
    this.liveInFlight += 1;
    const done = this.executor.execute(order).catch((err: unknown): ExecutionResult => aborted(this.logger, order, err));
    const entry: InFlight = { queue: queueKeyOf(order), done };
    this.inFlight.set(order.id, entry);
    void done.finally(() => {
      this.inFlight.delete(order.id);
      this.liveInFlight -= 1;
      // A slot is free and this queue may have a next order: claim now rather than at the next poll.
      if (this.running) void this.poll();
    });
    return entry;
  }

  /** A claimed batch (paperBatches or liveBatches was counted at its claim): one entry per order, all settled when the batch is. */
  private launchBatch(orders: ClaimedOrder[], kind: 'paper' | 'live'): InFlight[] {
    if (orders.length === 0) return [];
    // A live batch holds read-backs back from its claim until the claim after it has begun (below):
    // its outcome statement and logging are no quiet moment at a bar close.
    const sending = kind === 'live' ? this.readBacks.sendsUnderWay() : () => undefined;
    const all = this.batches.executeBatch(orders).then(
      (results) => new Map(results.map((r) => [r.orderId, r])),
      (err: unknown) => new Map(orders.map((o) => [o.id, aborted(this.logger, o, err)])),
    );
    const entries = orders.map((order) => {
      const entry: InFlight = { queue: queueKeyOf(order), done: all.then((byId) => byId.get(order.id) ?? aborted(this.logger, order, new Error('no result for this order'))) };
      this.inFlight.set(order.id, entry);
      return entry;
    });
    void all.finally(() => {
      for (const order of orders) this.inFlight.delete(order.id);
      if (kind === 'paper') this.paperBatches -= 1;
      else this.liveBatches -= 1;
      // poll() takes its claim's mark synchronously (or one under way holds its own).
      if (this.running) void this.poll();
      sending();
    });
    return entries;
  }
}

/** The row stays `submitting`; after the lease it is reconciled like a crash. */
function aborted(logger: Logger, order: ClaimedOrder, err: unknown): ExecutionResult {
  logger.error({ err, order_id: order.id, user_id: order.user_id }, 'Order execution aborted');
  return { orderId: order.id, status: 'error', reconciled: false, reason: err instanceof Error ? err.message : String(err) };
}
