import { Inject, Injectable, Logger } from '@nestjs/common';
import { ExchangeError, ExchangeErrorCodes as C, isExchangeError } from '../errors';
import type { ExchangeGateway, Market } from '../gateway/exchange-gateway';
import { backoffMs } from './backoff';
import type { ClaimedOrder } from './order-claimer';
import { OrderGateways, OrderNotExecutable } from './order-gateways';
import { outcomeOf, OrderOutcome } from './order-outcome';
import { needsTicker, percentBudget, planPlacement, SizedOrder, tickerPrice } from './order-sizing';
import { ClaimToken, OrderTransitions } from './order-transitions';
import { TradingManagerConfig } from './trading-manager.config';

export type ExecutionStatus = OrderOutcome['status'] | 'retry' | 'failed' | 'lost_lease' | 'error';

export interface ExecutionResult {
  orderId: string;
  status: ExecutionStatus;
  /** Found on the exchange by client order id instead of being placed. */
  reconciled: boolean;
  reason: string | null;
}

// After max attempts, a few more claims that only look the order up: a placement whose answer was
// lost on the last attempt is found, never abandoned as `failed` while it may exist.
const RECONCILE_ONLY_ATTEMPTS = 5;

function failureReason(error: unknown): string {
  if (error instanceof OrderNotExecutable) return error.reason;
  if (isExchangeError(error)) return `${error.code}: ${error.reason}`;
  return `internal_error: ${(error as Error)?.message ?? String(error)}`;
}

/** Executes one claimed order: reconcile if it may have been sent before, else size, validate and place. */
@Injectable()
export class OrderExecutor {
  private readonly logger = new Logger(OrderExecutor.name);

  constructor(
    private readonly gateways: OrderGateways,
    private readonly transitions: OrderTransitions,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  async execute(order: ClaimedOrder): Promise<ExecutionResult> {
    const started = Date.now();
    const claim: ClaimToken = { id: order.id, attempts: order.attempts };
    // attempts is bumped at claim: 1 means no earlier claim can have sent it.
    let knownAbsent = order.attempts <= 1;
    let placementSent = false;
    let result: ExecutionResult;
    try {
      const gateway = await this.gateways.forOrder(order);
      if (order.attempts > 1) {
        const found = await gateway.fetchOrder({ clientOrderId: order.client_order_id, symbol: order.symbol });
        if (found) {
          result = await this.finish(claim, outcomeOf(found), true);
          return this.log(order, result, started);
        }
        knownAbsent = true;
      }
      if (order.attempts > this.config.TRADING_MAX_ATTEMPTS) {
        result = await this.end(claim, 'failed', order.reason ?? `gave up after ${this.config.TRADING_MAX_ATTEMPTS} attempts`);
        return this.log(order, result, started);
      }
      // Known not to be on the exchange (first attempt, or the lookup above found nothing): an old
      // signal is not traded. Paper fills at the signal's own price, so age does not matter there.
      const stale = this.staleness(order);
      if (stale) {
        result = await this.end(claim, 'rejected', stale);
        return this.log(order, result, started);
      }
      const market = await this.market(gateway, order.symbol);
      // Resolved at every placement, never earlier: only now (and after the lookup above found no
      // earlier placement) is the free balance the one this order may spend a share of.
      let sized: SizedOrder = order;
      if (order.quote_percent !== null) {
        sized = { ...order, quote_amount: percentBudget(await gateway.fetchBalance(), market, order.quote_percent) };
      }
      // A live market buy sized in quote is sent as its cost: no ticker, no conversion at a stale ask.
      const ticker = needsTicker(sized, market) ? tickerPrice(await gateway.fetchTicker(order.symbol), order.side) : null;
      const plan = planPlacement(sized, market, ticker);
      // Right before sending, every time: the claim must still be ours and its lease is renewed for
      // the call. A worker slow until here (markets, ticker, a paused process) may have lost the
      // order to another worker, which looked it up, found nothing and placed it: this one sends
      // nothing. A quote_percent order's budget is written in the same statement (the cost cut to
      // the quote step, or the budget), so the user sees what it spends even if the answer is lost.
      const resolvedQuote = order.quote_percent !== null ? (plan.cost ?? sized.quote_amount!) : null;
      if (!(await this.transitions.confirmClaim(claim, this.config.TRADING_LEASE_MS, resolvedQuote))) {
        result = { orderId: order.id, status: 'lost_lease', reconciled: false, reason: null };
        return this.log(order, result, started);
      }
      placementSent = true;
      const placed = await gateway.createOrder({ symbol: order.symbol, side: order.side, type: order.type, clientOrderId: order.client_order_id, ...plan });
      result = await this.finish(claim, outcomeOf(placed), false);
    } catch (error) {
      result = await this.fail(order, claim, error, knownAbsent, placementSent);
    }
    return this.log(order, result, started);
  }

  private staleness(order: ClaimedOrder): string | null {
    const maxAge = this.config.TRADING_MAX_ORDER_AGE_SECONDS;
    if (maxAge === 0 || order.mode !== 'live') return null;
    const age = Math.floor((Date.now() - order.created_at.getTime()) / 1000);
    if (age <= maxAge) return null;
    return `stale_order: not placed within ${maxAge} s of its signal (${age} s old; the exchange or the trading workers were unavailable)`;
  }

  private async market(gateway: ExchangeGateway, symbol: string): Promise<Market> {
    const market = (await gateway.loadMarkets()).find((m) => m.symbol === symbol);
    if (!market) throw ExchangeError.permanent(C.badSymbol, `unknown market ${symbol}`);
    return market;
  }

  private async finish(claim: ClaimToken, outcome: OrderOutcome, reconciled: boolean): Promise<ExecutionResult> {
    const applied = await this.transitions.record(claim, outcome);
    return { orderId: claim.id, status: applied ? outcome.status : 'lost_lease', reconciled, reason: null };
  }

  private async end(claim: ClaimToken, status: 'rejected' | 'failed', reason: string): Promise<ExecutionResult> {
    const applied = await this.transitions.end(claim, status, reason);
    return { orderId: claim.id, status: applied ? status : 'lost_lease', reconciled: false, reason };
  }

  /**
   * A refusal (permanent error, or no gateway to use) ends the order `rejected` only while it is
   * known not to be on the exchange: first attempt, or after a look-up found nothing — the
   * placement's own refusal included. A refusal of the look-up itself says nothing about an order
   * an earlier attempt may have placed, so it is retried like a transient error. Transient → back to
   * pending with backoff; `failed` only once attempts are spent AND the order is known not to exist,
   * else after the reconcile-only attempts with its outcome unknown.
   */
  private async fail(order: ClaimedOrder, claim: ClaimToken, error: unknown, knownAbsent: boolean, placementSent: boolean): Promise<ExecutionResult> {
    if (knownAbsent && (error instanceof OrderNotExecutable || (isExchangeError(error) && !error.transient))) {
      return this.end(claim, 'rejected', error.reason);
    }
    // Anything else (a database blip, a bug) is retried like a transient error: the row is never dropped.
    const reason = failureReason(error);
    if (!isExchangeError(error) && !(error instanceof OrderNotExecutable)) {
      this.logger.error({ err: error, order_id: order.id }, 'Order execution failed unexpectedly');
    }
    const max = this.config.TRADING_MAX_ATTEMPTS;
    if (order.attempts >= max && knownAbsent && !placementSent) return this.end(claim, 'failed', reason);
    if (order.attempts >= max + RECONCILE_ONLY_ATTEMPTS) {
      return this.end(claim, 'failed', `${reason} (placement outcome unknown: check the exchange for ${order.client_order_id})`);
    }
    const delay = backoffMs(order.attempts, this.config.TRADING_BACKOFF_BASE_MS, this.config.TRADING_BACKOFF_MAX_MS);
    const applied = await this.transitions.retryLater(claim, delay, reason);
    return { orderId: order.id, status: applied ? 'retry' : 'lost_lease', reconciled: false, reason };
  }

  private log(order: ClaimedOrder, result: ExecutionResult, started: number): ExecutionResult {
    // Ids only: never the request, the credentials or the exchange's raw answer.
    const line = {
      order_id: order.id,
      user_id: order.user_id,
      client_order_id: order.client_order_id,
      mode: order.mode,
      symbol: order.symbol,
      attempt: order.attempts,
      status: result.status,
      reconciled: result.reconciled,
      reason: result.reason,
      ms: Date.now() - started,
    };
    if (result.status === 'retry' || result.status === 'lost_lease') this.logger.warn(line, 'Order attempt did not complete');
    else if (result.status === 'rejected' || result.status === 'failed') this.logger.warn(line, 'Order not executed');
    else this.logger.log(line, 'Order executed');
    return result;
  }
}
