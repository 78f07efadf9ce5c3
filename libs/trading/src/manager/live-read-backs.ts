import { Inject, Injectable, Logger } from '@nestjs/common';
import { MicroBatcher } from '@torgovo/core';
import type { ExchangeGateway, Order } from '../gateway/exchange-gateway';
import { outcomeOf, OrderOutcome } from './order-outcome';
import { OrderTransitions } from './order-transitions';
import { TradingManagerConfig } from './trading-manager.config';

/** How long sends must have been quiet before read-backs start (the gap between one claim and the next is not quiet). */
const QUIET_MS = 50;
/** Read-backs waiting in one worker at most; beyond, an order is left to the open-orders sync (it is `open` in the database). */
const MAX_WAITING = 50_000;
/** Read outcomes written per statement (syncOpenMany), and statements in flight at once. */
const MAX_PER_WRITE = 500;
const MAX_WRITES_IN_FLIGHT = 2;

export interface ReadBackItem {
  orderId: string;
  userId: string;
  gateway: ExchangeGateway;
  /** What the placement answered: the order `open`, with the exchange's id. */
  placed: Order;
}

/** What a read-back ended with: the outcome as written (applied: the row was still `open`), or null if it was left to the sync. */
export type ReadBackResult = { outcome: OrderOutcome; applied: boolean } | null;

interface Waiting {
  item: ReadBackItem;
  since: number;
  done: (r: ReadBackResult) => void;
}

/**
 * The read-backs of live orders a batch placed (issue 16). OKX's placement answer carries ids only,
 * so each live order is two calls: the placement and a read of its fill. The live batch records each
 * acknowledged order `open` at once (with its exchange id: it is on the exchange, the send fence is
 * satisfied, the order leaves the claim) and hands its read here. The reads yield to the worker's
 * placements when those are backlogged: once a live claim came back full (more orders due than one
 * batch takes), reads wait until no live order is being claimed, decided or sent any more — up to
 * TRADING_READ_BACK_MAX_DEFER_MS — so at a bar close every order reaches the exchange first and the
 * fills are read after. Without a backlog (claims come back partial: a steady flow of orders) a read
 * starts at once, even while other orders are being sent. The outcomes are written in set-wise
 * statements (OrderTransitions.syncOpenMany, guarded by `open` like the sync's), moving the bots'
 * positions by the fills.
 *
 * Nothing here is needed for correctness: an order whose read never comes (a crash, a full queue, a
 * shutdown, a failed read) is `open` in the database, and the open-orders sync reads it.
 */
@Injectable()
export class LiveReadBacks {
  private readonly logger = new Logger(LiveReadBacks.name);
  private readonly waiting: Waiting[] = [];
  /** Order id → its read-back's result, while queued or running (runOnce awaits them; the sync skips them). */
  private readonly pending = new Map<string, Promise<ReadBackResult>>();
  private readonly trackers = new Set<Map<string, Promise<ReadBackResult>>>();
  private running = 0;
  /** Live claims and batches under way (claiming, deciding, sending). */
  private sending = 0;
  private quietSince = 0;
  /** A live claim came back full since sends were last quiet: placements are backlogged. */
  private backlogged = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private overflowLogged = false;
  private readonly writes = new MicroBatcher<{ id: string; outcome: OrderOutcome }, boolean>((items) => this.write(items), {
    maxBatch: MAX_PER_WRITE,
    maxInFlight: MAX_WRITES_IN_FLIGHT,
  });

  constructor(
    private readonly transitions: OrderTransitions,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  /** Marks live sends under way until the returned function is called (once): read-backs wait behind them. */
  sendsUnderWay(): () => void {
    this.sending += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.sending -= 1;
      if (this.sending === 0) {
        this.quietSince = Date.now();
        this.pump();
      }
    };
  }

  /**
   * A live claim came back full (more orders due than one batch takes): reads wait until the sends
   * are quiet again (or a read has waited TRADING_READ_BACK_MAX_DEFER_MS).
   */
  noteBacklog(): void {
    this.backlogged = true;
  }

  /** Queues the read-backs of placed orders recorded `open`. */
  enqueue(items: readonly ReadBackItem[]): void {
    const now = Date.now();
    for (const item of items) {
      if (this.closed || this.waiting.length >= MAX_WAITING) {
        if (!this.closed && !this.overflowLogged) {
          this.overflowLogged = true;
          this.logger.warn({ waiting: this.waiting.length }, 'Read-back queue full; further orders are left to the open-orders sync');
        }
        continue;
      }
      const result = new Promise<ReadBackResult>((done) => this.waiting.push({ item, since: now, done }));
      this.pending.set(item.orderId, result);
      for (const t of this.trackers) t.set(item.orderId, result);
      void result.then(() => this.pending.delete(item.orderId));
    }
    this.pump();
  }

  /** The read-back of this order while it is queued or running (undefined otherwise). */
  resultOf(orderId: string): Promise<ReadBackResult> | undefined {
    return this.pending.get(orderId);
  }

  /**
   * Collects the read-backs queued from now until `stop()` (TradingManager.runOnce, for tests and
   * tools: a read may be over before its caller looks at it).
   */
  track(): { results: Map<string, Promise<ReadBackResult>>; stop: () => void } {
    const results = new Map<string, Promise<ReadBackResult>>();
    this.trackers.add(results);
    return { results, stop: () => this.trackers.delete(results) };
  }

  /** Orders whose read-back is queued or running here: the sync leaves them to it. */
  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * Stops: queued read-backs are dropped (their orders are `open`: the sync reads them) and the
   * running ones are awaited.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.waiting.splice(0)) w.done(null);
    await Promise.allSettled([...this.pending.values()]);
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const limit = this.config.TRADING_LIVE_SENDS_IN_FLIGHT;
    while (!this.closed && this.waiting.length > 0 && this.running < limit) {
      const head = this.waiting[0];
      const now = Date.now();
      const quietAt = this.quietSince + QUIET_MS;
      // The backlog ends once the sends have been quiet for a moment (the gap between two claims is not quiet).
      if (this.backlogged && this.sending === 0 && now >= quietAt) this.backlogged = false;
      const aged = head.since + this.config.TRADING_READ_BACK_MAX_DEFER_MS;
      const startAt = !this.backlogged ? now : this.sending > 0 ? aged : Math.min(aged, quietAt);
      if (now < startAt) {
        this.timer = setTimeout(() => this.pump(), startAt - now);
        this.timer.unref();
        return;
      }
      this.waiting.shift();
      this.start(head);
    }
  }

  private start(w: Waiting): void {
    this.running += 1;
    const { item } = w;
    void (async (): Promise<ReadBackResult> => {
      // readBack answers the placed order as it was when the read fails: written `open` again (touched), synced later.
      const outcome = outcomeOf(await item.gateway.readBack(item.placed));
      const applied = await this.writes.submit({ id: item.orderId, outcome });
      if (applied && outcome.status !== 'open') {
        this.logger.log({ order_id: item.orderId, user_id: item.userId, status: outcome.status, ms: Date.now() - w.since }, 'Order read back');
      }
      return { outcome, applied };
    })()
      .catch((err: unknown) => {
        this.logger.warn({ order_id: item.orderId, user_id: item.userId, err: err instanceof Error ? err.message : String(err) }, 'Read-back failed; left to the open-orders sync');
        return null;
      })
      .then((r) => {
        this.running -= 1;
        w.done(r);
        this.pump();
      });
  }

  private async write(items: Array<{ id: string; outcome: OrderOutcome }>): Promise<Array<boolean | Error>> {
    try {
      const applied = await this.transitions.syncOpenMany(items);
      return items.map((i) => applied.has(i.id));
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return items.map(() => err);
    }
  }
}
