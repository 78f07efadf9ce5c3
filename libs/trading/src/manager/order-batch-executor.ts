import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import type { ExchangeGateway, Order } from '../gateway/exchange-gateway';
import { PaperBatchFills } from '../gateway/paper/paper-batch-fills';
import { findPaperMarket } from '../gateway/paper/paper-markets';
import type { ClaimedOrder } from './order-claimer';
import { sendDeadline } from '../orders/send-fence';
import { LiveReadBacks, ReadBackItem } from './live-read-backs';
import { ExecutionResult, OrderExecutor } from './order-executor';
import { GatewayPlacement, OrderGateways } from './order-gateways';
import { outcomeOf, OrderOutcome } from './order-outcome';
import { needsTicker } from './order-sizing';
import { ClaimToken, OrderTransitions } from './order-transitions';
import { BatchDecisionItem, BatchVerdict, PlacementBatchDecider } from './placement-batch-decider';
import type { PreRead } from './placement-decider';
import type { SendDecision } from './placement-rule';
import { TradingManagerConfig } from './trading-manager.config';

/**
 * Whether a claimed paper order can take the batch path: never sent before (sent_at null: nothing to
 * look up), attempts left, and nothing to read from the exchange before deciding (a known market; no
 * percent-of-balance buy, no ticker). Everything else takes OrderExecutor's single-order path.
 */
function batchable(order: ClaimedOrder, maxAttempts: number): boolean {
  if (order.mode !== 'paper' || order.sent_at !== null || order.attempts > maxAttempts || order.quote_percent !== null) return false;
  const market = findPaperMarket(order.symbol);
  if (!market) return false;
  const sizedLater = order.position_percent !== null || order.target_position !== null;
  return !needsTicker({ ...order, side: order.side ?? 'buy', amount: order.amount ?? (sizedLater ? '1' : null) }, market);
}

/**
 * A live order the batch path takes: never sent before (nothing to look up), attempts left, not stale
 * (the single path ends those with their reason). Its pre-reads are made per order, concurrently.
 */
function liveBatchable(order: ClaimedOrder, maxAttempts: number, executor: OrderExecutor): boolean {
  return order.mode === 'live' && order.sent_at === null && order.attempts <= maxAttempts && executor.staleness(order) === null;
}

/**
 * How long before its deadline (sendDeadline: OKX's expTime, bound to the placement decision) a live
 * send may still start: the time a request needs to reach OKX. A send that could not start by then
 * is not sent (OKX would refuse it anyway): retried later.
 */
const LIVE_SEND_LEAVE_MS = 1_000;

/** At most `limit` tasks running; the others wait in order. */
class Slots {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private readonly drained: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.running += 1;
    if (this.queue.length === 0) this.drained.splice(0).forEach((r) => r());
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the slot passes straight to the next task
      else this.running -= 1;
    }
  }

  /** Resolves once no task waits for a slot (every task given so far has started). */
  allStarted(): Promise<void> {
    return this.queue.length === 0 ? Promise.resolve() : new Promise((r) => this.drained.push(r));
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Executes a claimed batch of paper orders (live ones: runLiveBatch) with a fixed number of statements whatever its size,
 * in one transaction (runBatch): one placement decision for all (PlacementBatchDecider: the placement
 * rule at the moment of the effect, the claims checked under the rows' lock), the paper fills of those
 * it sends (PaperBatchFills.fillWithin), one statement confirming and recording them
 * (confirmAndRecordMany). An order that fails alone
 * (a refused size, insufficient funds, an unsettled position) gets the single path's answer for that
 * failure (OrderExecutor.fail) without holding up the others. Orders the batch path does not cover
 * run through OrderExecutor.execute, TRADING_CONCURRENCY at a time; a batch decision that fails as
 * a whole (a deadlock, a lost connection) falls back to that path for each of its orders, which are
 * still claimed and untouched (the decision rolled back).
 */
@Injectable()
export class OrderBatchExecutor {
  private readonly logger = new Logger(OrderBatchExecutor.name);

  constructor(
    private readonly executor: OrderExecutor,
    private readonly gateways: OrderGateways,
    private readonly decider: PlacementBatchDecider,
    private readonly transitions: OrderTransitions,
    private readonly fills: PaperBatchFills,
    private readonly readBacks: LiveReadBacks,
    private readonly app: AppConfig,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  async executeBatch(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    const max = this.config.TRADING_MAX_ATTEMPTS;
    const paper = orders.filter((o) => batchable(o, max));
    const live = this.config.TRADING_LIVE_BATCH_SIZE > 0 ? orders.filter((o) => liveBatchable(o, max, this.executor)) : [];
    const single = orders.filter((o) => !paper.includes(o) && !live.includes(o));
    const [batched, liveBatched, singles] = await Promise.all([this.runBatch(paper), this.runLiveBatch(live), this.runSingle(single)]);
    return [...batched, ...liveBatched, ...singles];
  }

  /**
   * A batch of live orders: what sizing needs read per order (their current keys' gateway; the
   * market from the shared table, the ticker only when needed, the free balance only for percent
   * buys), TRADING_LIVE_SENDS_IN_FLIGHT at a time; then, part by part (decideAndSend), ONE placement
   * decision for the part, its confirmed orders placed concurrently (bounded the same way, all parts
   * sharing the slots) after the commit, the placements' answers recorded in one statement (`open`,
   * with OKX's ids) and their fills read back by LiveReadBacks, behind the worker's placements.
   * A failure of one order gets the single path's answer (OrderExecutor.fail) and
   * holds up no other. Keys replaced between the reads and the decision (credential_moved): that
   * order, untouched by the decision, is decided again by the single path with the new keys.
   */
  private async runLiveBatch(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    if (orders.length === 0) return [];
    const started = Date.now();
    const inFlight = this.config.TRADING_LIVE_SENDS_IN_FLIGHT;
    const claimOf = (o: ClaimedOrder): ClaimToken => ({ id: o.id, attempts: o.attempts });
    const results: Array<Promise<ExecutionResult>> = [];
    const ready: Array<{ order: ClaimedOrder; gateway: ExchangeGateway | null; pre: PreRead }> = [];
    // The keys of the whole batch in one statement (not one read per order).
    let gateways: Map<string, GatewayPlacement | null>;
    try {
      gateways = await this.gateways.currentMany(orders);
    } catch (error) {
      // Nothing sent nor decided: each order gets the single path's answer to a failed read.
      return this.settle(orders, orders.map((o) => this.executor.fail(o, claimOf(o), error, true, false)), started);
    }
    const reads = await mapLimited(orders, inFlight, async (order) => {
      try {
        const current = gateways.get(order.id) ?? null;
        if (!current) return { order, gateway: null, pre: { market: null, free_quote: null, reference_price: null, credential_id: null } };
        return { order, gateway: current.gateway, pre: await this.executor.preRead(current.gateway, order, current.credentialId) };
      } catch (error) {
        return { order, error };
      }
    });
    for (const r of reads) {
      // Never sent (sent_at null): a refusal of a pre-read (unknown market) is known absent, as in the single path.
      if ('error' in r) results.push(this.executor.fail(r.order, claimOf(r.order), r.error, true, false));
      else ready.push(r);
    }

    // Decided in parts of TRADING_LIVE_SENDS_IN_FLIGHT orders, the next part only
    // once every send decided so far has left (the sends of all parts share the in-flight slots): a
    // decided send then waits at most about one round of calls, not the whole batch's, before it
    // leaves — before its deadline (sendDeadline), ~12 s after the decision. (One decision for 500
    // orders at 64 in flight left the last ones ~8 round trips after the decision: under load, past the 3 s the
    // fence then allowed, so they were not sent but retried — each then through the single path, a
    // look-up first; in one burst 439 of 10,000, and the run took twice as long.)
    const slots = new Slots(inFlight);
    // One part per TRADING_LIVE_SENDS_IN_FLIGHT orders: a part's sends wait at most one round of the
    // previous part's calls (parts of twice that left the last sends of a 1.4 s decision under load
    // past the 3 s then allowed).
    const part = Math.max(1, inFlight);
    const parts: Array<Promise<ExecutionResult[]>> = [];
    for (let i = 0; i < ready.length; i += part) {
      if (i > 0) await slots.allStarted();
      parts.push(this.decideAndSend(ready.slice(i, i + part), slots, claimOf, started));
    }
    const [batched, ...rest] = await Promise.all([this.settle(orders, results, started), ...parts]);
    return [...batched, ...rest.flat()];
  }

  /** One part of a live batch: one placement decision, its confirmed orders placed through `slots`, the answers recorded in one statement, the fills queued to be read back. */
  private async decideAndSend(
    ready: ReadonlyArray<{ order: ClaimedOrder; gateway: ExchangeGateway | null; pre: PreRead }>,
    slots: Slots,
    claimOf: (o: ClaimedOrder) => ClaimToken,
    started: number,
  ): Promise<ExecutionResult[]> {
    const orders = ready.map(({ order }) => order);
    const results: Array<Promise<ExecutionResult>> = [];
    // From before the decision's transaction: its writes' updated_at (now(), the transaction's start) is
    // where the send fence's bound starts; OKX refuses a placement after the deadline (its expTime).
    const deadline = sendDeadline(Date.now());
    let verdicts: BatchVerdict[];
    try {
      verdicts = await this.decider.decideBatch(
        this.transitions,
        ready.map(({ order, pre }): BatchDecisionItem => ({ claim: claimOf(order), order, pre })),
        this.config.TRADING_LEASE_MS,
      );
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), orders: ready.length }, 'Live batch placement decision failed; deciding each order alone');
      return this.runSingle(orders);
    }
    // Untouched by the decision (keys replaced since the pre-read): decided again alone, with the new keys.
    const again: ClaimedOrder[] = [];
    const sends: Array<{ order: ClaimedOrder; gateway: ExchangeGateway; decision: SendDecision }> = [];
    ready.forEach(({ order, gateway }, i) => {
      const v = verdicts[i];
      if (v.kind === 'send') {
        if (gateway) sends.push({ order, gateway, decision: v.decision });
        else results.push(this.executor.fail(order, claimOf(order), new Error('a live order was confirmed without keys to send it'), true, false, true));
      } else if (v.kind === 'credential_moved') again.push(order);
      else if (v.kind === 'canceled') results.push(Promise.resolve({ orderId: order.id, status: 'canceled', reconciled: false, reason: v.reason }));
      else if (v.kind === 'error') results.push(this.executor.fail(order, claimOf(order), v.error, true, false));
      else results.push(Promise.resolve({ orderId: order.id, status: 'lost_lease', reconciled: false, reason: null }));
    });

    const alone = this.runSingle(again);
    const placed = await Promise.all(
      sends.map(({ order, gateway, decision }) =>
        slots.run(async () => {
          if (Date.now() > deadline - LIVE_SEND_LEAVE_MS) {
            return { order, error: ExchangeError.transient(C.unavailable, 'the placement could not leave in time after its decision; sent again shortly'), sent: false };
          }
          try {
            // The placement alone: its fill is read after, behind the worker's other placements.
            const o = await gateway.placeOrder({ symbol: order.symbol, side: decision.side, type: order.type, clientOrderId: order.client_order_id, ...decision.placement, deadline });
            return { order, gateway, placed: o, outcome: outcomeOf(o) };
          } catch (error) {
            return { order, error, sent: true };
          }
        }),
      ),
    );
    const acknowledged: Array<{ order: ClaimedOrder; gateway: ExchangeGateway; placed: Order; outcome: OrderOutcome }> = [];
    for (const p of placed) {
      if (p.outcome) acknowledged.push(p);
      else results.push(this.executor.fail(p.order, claimOf(p.order), p.error, true, p.sent === true, p.sent !== true));
    }
    // Recorded as the placement answered (`open`, with the exchange's id: the send fence is
    // satisfied and the order leaves the claim); the recorded ones still open are read back after.
    const recorded = await this.record(acknowledged, claimOf);
    results.push(...recorded.results);
    this.readBacks.enqueue(
      acknowledged
        .filter((a) => recorded.ids.has(a.order.id) && a.outcome.status === 'open')
        .map((a): ReadBackItem => ({ orderId: a.order.id, userId: a.order.user_id, gateway: a.gateway, placed: a.placed })),
    );
    const [batched, singles] = await Promise.all([this.settle(orders, results, started), alone]);
    return [...batched, ...singles];
  }

  /** The outcomes of placed orders in one statement; if it fails, each is retried (and looked up first), as in the single path. */
  private async record(
    filled: ReadonlyArray<{ order: ClaimedOrder; outcome: OrderOutcome }>,
    claimOf: (o: ClaimedOrder) => ClaimToken,
  ): Promise<{ results: Array<Promise<ExecutionResult>>; ids: Set<string> }> {
    let recorded: Set<string>;
    try {
      recorded = await this.transitions.recordMany(filled.map(({ order, outcome }) => ({ claim: claimOf(order), outcome })));
    } catch (error) {
      return { results: filled.map(({ order }) => this.executor.fail(order, claimOf(order), error, true, true)), ids: new Set() };
    }
    return {
      ids: recorded,
      results: filled.map(({ order, outcome }) =>
        Promise.resolve<ExecutionResult>({ orderId: order.id, status: recorded.has(order.id) ? outcome.status : 'lost_lease', reconciled: false, reason: null }),
      ),
    };
  }

  private async settle(orders: readonly ClaimedOrder[], results: Array<Promise<ExecutionResult>>, started: number): Promise<ExecutionResult[]> {
    const done = await Promise.all(results);
    const byId = new Map(orders.map((o) => [o.id, o]));
    return done.map((r) => this.executor.log(byId.get(r.orderId)!, r, started));
  }

  private runSingle(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    return mapLimited(orders, this.app.env.TRADING_CONCURRENCY, (o) => this.executor.execute(o));
  }

  /**
   * A paper batch: its accounts opened first (committed, PaperBatchFills.openFor), then ONE
   * transaction — the placement decision, the paper fills of the orders it confirms
   * (PaperBatchFills.fillWithin) and one statement writing each confirmation with its outcome
   * (OrderTransitions.confirmAndRecordMany). The paper exchange is this database, so the decision,
   * the fill and its record commit together or not at all: no paper order is ever decided (sent_at)
   * without its fill written, and each order's row is written once after its claim, not twice.
   * A refusal of one order (insufficient funds) is that order's answer (OrderExecutor.fail); a
   * failure of the whole (a deadlock, a lost connection) rolls everything back and each order, still
   * claimed and untouched, takes the single path.
   */
  private async runBatch(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    if (orders.length === 0) return [];
    const started = Date.now();
    const claimOf = (o: ClaimedOrder): ClaimToken => ({ id: o.id, attempts: o.attempts });
    // Per order sent: its outcome as recorded, or the paper exchange's refusal.
    const placed = new Map<string, { outcome: OrderOutcome } | { error: unknown }>();
    let verdicts: BatchVerdict[];
    try {
      await this.fills.openFor(orders.map((o) => ({ userId: o.user_id, symbol: o.symbol })));
      verdicts = await this.decider.decideBatch(
        this.transitions,
        orders.map((order) => ({
          claim: claimOf(order),
          order,
          pre: { market: findPaperMarket(order.symbol)!, free_quote: null, reference_price: null, market_price: null, credential_id: null },
        })),
        this.config.TRADING_LEASE_MS,
        async (m, sends) => {
          const results = await this.fills.fillWithin(
            m,
            sends.map(({ item: { order }, decision }) => ({
              userId: order.user_id,
              request: { symbol: order.symbol, side: decision.side, type: order.type, clientOrderId: order.client_order_id, ...decision.placement },
            })),
          );
          return this.transitions.confirmAndRecordMany(
            m,
            sends.map(({ item, decision: { resolved } }, i) => {
              const r = results[i];
              const outcome = 'order' in r ? outcomeOf(r.order) : null;
              placed.set(item.order.id, outcome ? { outcome } : { error: 'error' in r ? r.error : undefined });
              return {
                claim: item.claim,
                sent: { credentialId: null, amount: resolved.amount, quoteAmount: resolved.quote_amount, side: resolved.side },
                outcome,
              };
            }),
            this.config.TRADING_LEASE_MS,
          );
        },
      );
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), orders: orders.length }, 'Batch placement decision failed; deciding each order alone');
      return this.runSingle(orders);
    }

    const results: Array<Promise<ExecutionResult>> = [];
    orders.forEach((order, i) => {
      const v = verdicts[i];
      if (v.kind === 'send') {
        const p = placed.get(order.id)!;
        // Refused by the paper exchange: confirmed (sent_at) with nothing placed, as the separate fill left it.
        if ('error' in p) results.push(this.executor.fail(order, claimOf(order), p.error, true, true));
        else results.push(Promise.resolve({ orderId: order.id, status: p.outcome.status, reconciled: false, reason: null }));
      } else if (v.kind === 'canceled') results.push(Promise.resolve({ orderId: order.id, status: 'canceled', reconciled: false, reason: v.reason }));
      else if (v.kind === 'error') results.push(this.executor.fail(order, claimOf(order), v.error, true, false));
      else results.push(Promise.resolve({ orderId: order.id, status: 'lost_lease', reconciled: false, reason: null }));
    });
    return this.settle(orders, results, started);
  }
}
