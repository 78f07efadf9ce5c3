import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@torgovo/core';
import { PaperBatchFills, PaperBatchResult } from '../gateway/paper/paper-batch-fills';
import { findPaperMarket } from '../gateway/paper/paper-markets';
import type { ClaimedOrder } from './order-claimer';
import { ExecutionResult, OrderExecutor } from './order-executor';
import { outcomeOf, OrderOutcome } from './order-outcome';
import { needsTicker } from './order-sizing';
import { ClaimToken, OrderTransitions } from './order-transitions';
import { BatchVerdict, PlacementBatchDecider } from './placement-batch-decider';
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
 * Executes a claimed batch of paper orders with a fixed number of transactions whatever its size:
 * one placement decision for all (PlacementBatchDecider: the placement rule at the moment of the
 * effect, the claims confirmed and fenced set-wise), one paper fill for those it sends
 * (PaperBatchFills), one statement recording the outcomes (recordMany). An order that fails alone
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
    private readonly decider: PlacementBatchDecider,
    private readonly transitions: OrderTransitions,
    private readonly fills: PaperBatchFills,
    private readonly app: AppConfig,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  async executeBatch(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    const batch = orders.filter((o) => batchable(o, this.config.TRADING_MAX_ATTEMPTS));
    const single = orders.filter((o) => !batchable(o, this.config.TRADING_MAX_ATTEMPTS));
    const [batched, singles] = await Promise.all([this.runBatch(batch), this.runSingle(single)]);
    return [...batched, ...singles];
  }

  private runSingle(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    return mapLimited(orders, this.app.env.TRADING_CONCURRENCY, (o) => this.executor.execute(o));
  }

  private async runBatch(orders: readonly ClaimedOrder[]): Promise<ExecutionResult[]> {
    if (orders.length === 0) return [];
    const started = Date.now();
    const claimOf = (o: ClaimedOrder): ClaimToken => ({ id: o.id, attempts: o.attempts });
    let verdicts: BatchVerdict[];
    try {
      verdicts = await this.decider.decideBatch(
        this.transitions,
        orders.map((order) => ({
          claim: claimOf(order),
          order,
          pre: { market: findPaperMarket(order.symbol)!, free_quote: null, reference_price: null, market_price: null, credential_id: null },
        })),
        this.config.TRADING_LEASE_MS,
      );
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), orders: orders.length }, 'Batch placement decision failed; deciding each order alone');
      return this.runSingle(orders);
    }

    const results: Array<Promise<ExecutionResult>> = [];
    const sends: Array<{ order: ClaimedOrder; decision: SendDecision }> = [];
    orders.forEach((order, i) => {
      const v = verdicts[i];
      if (v.kind === 'send') sends.push({ order, decision: v.decision });
      else if (v.kind === 'canceled') results.push(Promise.resolve({ orderId: order.id, status: 'canceled', reconciled: false, reason: v.reason }));
      else if (v.kind === 'error') results.push(this.executor.fail(order, claimOf(order), v.error, true, false));
      else results.push(Promise.resolve({ orderId: order.id, status: 'lost_lease', reconciled: false, reason: null }));
    });
    results.push(...(await this.sendAndRecord(sends, claimOf)));
    const done = await Promise.all(results);
    const byId = new Map(orders.map((o) => [o.id, o]));
    return done.map((r) => this.executor.log(byId.get(r.orderId)!, r, started));
  }

  /** The confirmed orders placed on paper in one transaction, their outcomes recorded in one statement. */
  private async sendAndRecord(sends: Array<{ order: ClaimedOrder; decision: SendDecision }>, claimOf: (o: ClaimedOrder) => ClaimToken): Promise<Array<Promise<ExecutionResult>>> {
    if (sends.length === 0) return [];
    let placed: PaperBatchResult[];
    try {
      placed = await this.fills.createOrders(
        sends.map(({ order, decision }) => ({
          userId: order.user_id,
          request: { symbol: order.symbol, side: decision.side, type: order.type, clientOrderId: order.client_order_id, ...decision.placement },
        })),
      );
    } catch (error) {
      // Sent (sent_at is set) but the paper transaction failed: each is retried and looked up first, as in the single path.
      return sends.map(({ order }) => this.executor.fail(order, claimOf(order), error, true, true));
    }
    const failed: Array<Promise<ExecutionResult>> = [];
    const filled: Array<{ order: ClaimedOrder; outcome: OrderOutcome }> = [];
    sends.forEach(({ order }, i) => {
      const p = placed[i];
      if ('order' in p) filled.push({ order, outcome: outcomeOf(p.order) });
      else failed.push(this.executor.fail(order, claimOf(order), p.error, true, true));
    });
    let recorded: Set<string>;
    try {
      recorded = await this.transitions.recordMany(filled.map(({ order, outcome }) => ({ claim: claimOf(order), outcome })));
    } catch (error) {
      return [...failed, ...filled.map(({ order }) => this.executor.fail(order, claimOf(order), error, true, true))];
    }
    return [
      ...failed,
      ...filled.map(({ order, outcome }) =>
        Promise.resolve<ExecutionResult>({ orderId: order.id, status: recorded.has(order.id) ? outcome.status : 'lost_lease', reconciled: false, reason: null }),
      ),
    ];
  }
}
