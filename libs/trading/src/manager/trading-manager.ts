import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@torgovo/core';
import { ClaimedOrder, OrderClaimer, queueKeyOf } from './order-claimer';
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
 * orders for the free slots — at most TRADING_CONCURRENCY in flight, one per queue (credential: a user's paper and live accounts apart) — and executes
 * them; every TRADING_SYNC_INTERVAL_MS it syncs open orders. The timers only trigger: the work is
 * claimed in PostgreSQL, so any number of workers share the queue. With TRADING_NOTIFY_ENABLED a
 * NOTIFY from the orders trigger also starts a pass, so a new order does not wait for the poll.
 */
@Injectable()
export class TradingManager implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(TradingManager.name);
  private readonly inFlight = new Map<string, InFlight>();
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
    private readonly sync: OpenOrdersSync,
    private readonly listener: OrderNotifyListener,
    private readonly transitions: OrderTransitions,
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
    if (this.config.TRADING_NOTIFY_ENABLED) this.listener.start(() => this.wake());
    this.logger.log(
      { poll_ms: this.app.env.TRADING_POLL_MS, concurrency: this.app.env.TRADING_CONCURRENCY, notify: this.config.TRADING_NOTIFY_ENABLED },
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
    const pending: Promise<unknown>[] = [...this.claiming, ...[...this.inFlight.values()].map((f) => f.done)];
    if (this.syncing) pending.push(this.syncing);
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const outcome = await Promise.race([Promise.allSettled(pending).then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.warn({ in_flight: this.inFlight.size }, 'Stopped with orders in flight; their lease will expire');
  }

  /** One claim for the free slots, awaiting those orders: for tests and tools (works with the loop off). */
  async runOnce(): Promise<ExecutionResult[]> {
    const launched = await this.claimAndLaunch();
    return Promise.all(launched.map((f) => f.done));
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

  /** Coalesced: a completion during a claim asks for one more round instead of a parallel claim. */
  private async poll(): Promise<void> {
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.refill = false;
        await this.claimAndLaunch();
      } while (this.refill && this.running);
    } finally {
      this.filling = false;
      this.schedulePoll(this.app.env.TRADING_POLL_MS);
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
    const free = this.app.env.TRADING_CONCURRENCY - this.inFlight.size;
    if (free <= 0) return [];
    const busy = [...new Set([...this.inFlight.values()].map((f) => f.queue))];
    let claimed: ClaimedOrder[];
    try {
      claimed = await this.claimer.claim(free, this.config.TRADING_LEASE_MS, busy, this.halted.signal);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Claiming orders failed; retrying next poll');
      return [];
    }
    if (this.stopping) {
      // Committed just as the stop began: nothing is executed after stop(), so the claims go back.
      await Promise.all(claimed.map((o) => this.transitions.release({ id: o.id, attempts: o.attempts }).catch(() => false)));
      return [];
    }
    return claimed.map((order) => this.launch(order));
  }

  private launch(order: ClaimedOrder): InFlight {
    const done = this.executor.execute(order).catch((err: unknown): ExecutionResult => {
      // The row stays `submitting`; after the lease it is reconciled like a crash.
      this.logger.error({ err, order_id: order.id, user_id: order.user_id }, 'Order execution aborted');
      return { orderId: order.id, status: 'error', reconciled: false, reason: err instanceof Error ? err.message : String(err) };
    });
    const entry: InFlight = { queue: queueKeyOf(order), done };
    this.inFlight.set(order.id, entry);
    void done.finally(() => {
      this.inFlight.delete(order.id);
      // A slot is free and this queue may have a next order: claim now rather than at the next poll.
      if (this.running) void this.poll();
    });
    return entry;
  }
}
