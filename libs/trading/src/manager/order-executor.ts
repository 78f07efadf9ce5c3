import { Inject, Injectable, Logger } from '@nestjs/common';
import { ExchangeError, ExchangeErrorCodes as C, isExchangeError } from '../errors';
import { sendDeadline } from '../orders/send-fence';
import type { ExchangeGateway, Market } from '../gateway/exchange-gateway';
import { backoffMs } from './backoff';
import type { ClaimedOrder } from './order-claimer';
import { OrderGateways, OrderNotExecutable } from './order-gateways';
import { outcomeOf, OrderOutcome } from './order-outcome';
import { needsTicker, SizedOrder, tickerPrice } from './order-sizing';
import { ClaimToken, OrderTransitions, SUPERSEDED_CLOSE_REASON } from './order-transitions';
import { PlacementDecider, PreRead, Verdict } from './placement-decider';
import { CancelReasons, SendDecision } from './placement-rule';
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

/** A managed follower's live order with the lead's price: its slippage is checked against the market now. */
function followsLeadPrice(order: ClaimedOrder): boolean {
  return order.managed_bot_id !== null && order.mode === 'live' && order.price !== null;
}

function failureReason(error: unknown): string {
  if (error instanceof OrderNotExecutable) return error.reason;
  if (isExchangeError(error)) return `${error.code}: ${error.reason}`;
  return `internal_error: ${(error as Error)?.message ?? String(error)}`;
}

/**
 * A transient answer that says the exchange did not take the order in (it refused it before its
 * matching engine: a rate limit, a busy, maintenance or server-error answer). A timeout or a lost
 * answer (network) says nothing: the order may be placed until its expTime.
 */
function refusedBeforePlacing(error: unknown): boolean {
  return isExchangeError(error) && error.transient && (error.code === C.rateLimited || error.code === C.unavailable);
}

/**
 * Executes one claimed order: look it up if it may have been sent before; else the placement rule
 * (placement-rule.ts) decides, right before the send, whether it may still be sent and how big it is.
 */
@Injectable()
export class OrderExecutor {
  private readonly logger = new Logger(OrderExecutor.name);

  constructor(
    private readonly gateways: OrderGateways,
    private readonly transitions: OrderTransitions,
    private readonly decider: PlacementDecider,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  async execute(order: ClaimedOrder): Promise<ExecutionResult> {
    const started = Date.now();
    const claim: ClaimToken = { id: order.id, attempts: order.attempts };
    // sent_at is set by the statement that fences a send: without it no earlier claim sent the order.
    let knownAbsent = order.sent_at === null;
    let placementSent = false;
    let result: ExecutionResult;
    try {
      if (order.sent_at !== null) {
        // It may be on the exchange: looked up where it was sent (its own keys, even replaced or
        // disconnected since) and recorded as the exchange says, before anything else.
        const where = await this.gateways.whereSent(order);
        if (where === null) {
          result = await this.end(claim, 'canceled', `${CancelReasons.credentialChanged}: the exchange keys this order was sent with are gone, so it cannot be looked up; it is never sent with other keys (check your account for client order id ${order.client_order_id})`);
          return this.log(order, result, started);
        }
        const found = await where.fetchOrder({ clientOrderId: order.client_order_id, symbol: order.symbol });
        if (found) {
          result = await this.finish(claim, outcomeOf(found), true);
          return this.log(order, result, started);
        }
        // Not found proves nothing while a send of unknown outcome may still reach the exchange (until
        // its expTime): looked up again after that, never canceled, rejected or sent again before.
        if (order.send_settles_at !== null && Date.now() < order.send_settles_at.getTime()) {
          const reason = `placement outcome unknown: OKX may still place it until ${order.send_settles_at.toISOString()}; looked up again then`;
          const applied = await this.transitions.retryLater(claim, 0, reason, { untilSettled: true });
          result = applied === 'superseded'
            ? { orderId: order.id, status: 'canceled', reconciled: false, reason: SUPERSEDED_CLOSE_REASON }
            : { orderId: order.id, status: applied ? 'retry' : 'lost_lease', reconciled: false, reason };
          return this.log(order, result, started);
        }
        knownAbsent = true;
      }
      if (order.attempts > this.config.TRADING_MAX_ATTEMPTS) {
        result = await this.end(claim, 'failed', order.reason ?? `gave up after ${this.config.TRADING_MAX_ATTEMPTS} attempts`);
        return this.log(order, result, started);
      }
      // Known not to be on the exchange (never sent, or the lookup above found nothing): an old
      // signal is not traded. Paper fills at the signal's own price, so age does not matter there.
      const stale = this.staleness(order);
      if (stale) {
        result = await this.end(claim, 'rejected', stale);
        return this.log(order, result, started);
      }
      const verdict = await this.decide(claim, order);
      if (verdict.kind === 'canceled') {
        result = { orderId: order.id, status: 'canceled', reconciled: false, reason: verdict.reason };
        return this.log(order, result, started);
      }
      if (verdict.kind !== 'send') {
        result = { orderId: order.id, status: 'lost_lease', reconciled: false, reason: null };
        return this.log(order, result, started);
      }
      placementSent = true;
      const { gateway, decision, deadline } = verdict;
      const placed = await gateway.createOrder({ symbol: order.symbol, side: decision.side, type: order.type, clientOrderId: order.client_order_id, ...decision.placement, deadline });
      result = await this.finish(claim, outcomeOf(placed), false);
    } catch (error) {
      result = await this.fail(order, claim, error, knownAbsent, placementSent);
    }
    return this.log(order, result, started);
  }

  /**
   * Reads what sizing needs from the exchange (no lock held across those calls), then runs the
   * placement rule in the transaction that fences the send (PlacementDecider). Keys replaced between
   * the reads and the decision: read again with the new ones (a few times at most).
   */
  private async decide(claim: ClaimToken, order: ClaimedOrder): Promise<(Verdict & { kind: 'canceled' | 'lost_lease' }) | { kind: 'send'; gateway: ExchangeGateway; decision: SendDecision; deadline: number }> {
    for (let round = 0; ; round += 1) {
      const current = await this.gateways.current(order);
      const pre: PreRead = current
        ? await this.preRead(current.gateway, order, current.credentialId)
        : // No keys for its exchange: the rule cancels it (exchange_disconnected / credential_changed); nothing to read.
          { market: null, free_quote: null, reference_price: null, credential_id: null };
      // Before the decision's transaction (its now() starts the send fence's bound): OKX refuses the
      // placement after this deadline, however late the call leaves.
      const deadline = sendDeadline(Date.now());
      const verdict = await this.decider.decide(this.transitions, claim, order, pre, this.config.TRADING_LEASE_MS);
      if (verdict.kind === 'credential_moved' && round < 3) continue;
      if (verdict.kind === 'credential_moved') throw ExchangeError.transient(C.authentication, 'the exchange keys kept changing while the order was being placed');
      if (verdict.kind === 'send') {
        if (!current) throw new Error('a live order was confirmed without keys to send it');
        return { kind: 'send', gateway: current.gateway, decision: verdict.decision, deadline };
      }
      return verdict;
    }
  }

  async preRead(gateway: ExchangeGateway, order: ClaimedOrder, credentialId: string | null): Promise<PreRead> {
    const market = await this.market(gateway, order.symbol);
    // Only now (and after any lookup found no earlier placement) is the free balance the one this
    // order may spend a share of; orders of one queue run one at a time, so percent buys compound.
    const free_quote = order.quote_percent !== null ? ((await gateway.fetchBalance())[market.quote]?.free ?? '0') : null;
    // A live market buy sized in quote is sent as its cost: no ticker, no conversion at a stale ask.
    // Sized at the decision: a position or target order will carry an amount, a percent buy a quote amount.
    const sizedLater = order.position_percent !== null || order.target_position !== null;
    const shape: SizedOrder = {
      ...order,
      side: order.side ?? 'buy',
      amount: order.amount ?? (sizedLater ? '1' : null),
      quote_amount: order.quote_amount ?? (order.quote_percent !== null ? '1' : null),
    };
    const ticker = needsTicker(shape, market) || followsLeadPrice(order) ? await gateway.fetchTicker(order.symbol) : null;
    const reference_price = needsTicker(shape, market) && ticker ? tickerPrice(ticker, shape.side) : null;
    // A managed follower's live order carries the lead's price: the rule compares the market to it (max slippage).
    const market_price = followsLeadPrice(order) && ticker ? tickerPrice(ticker, shape.side) : null;
    return { market, free_quote, reference_price, market_price, credential_id: credentialId };
  }

  staleness(order: ClaimedOrder): string | null {
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

  private async end(claim: ClaimToken, status: 'rejected' | 'failed' | 'canceled', reason: string): Promise<ExecutionResult> {
    const applied = await this.transitions.end(claim, status, reason);
    return { orderId: claim.id, status: applied ? status : 'lost_lease', reconciled: false, reason };
  }

  /**
   * A refusal (permanent error, or no gateway to use) ends the order `rejected` only while it is
   * known not to be on the exchange: first attempt, or after a look-up found nothing — the
   * placement's own refusal included. A refusal of the look-up itself says nothing about an order
   * an earlier attempt may have placed, so it is retried like a transient error. Transient → back to
   * pending with backoff; `failed` only once attempts are spent AND the order is known not to exist,
   * else after the reconcile-only attempts with its outcome unknown. `decidedUnsent`: this attempt's
   * send was decided (confirmed) but never left (the batch's deadline check, no keys to send with).
   */
  async fail(order: ClaimedOrder, claim: ClaimToken, error: unknown, knownAbsent: boolean, placementSent: boolean, decidedUnsent = false): Promise<ExecutionResult> {
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
    // A send that left and got no answer may still be placed until its bound: kept for the next
    // look-up and the send fence. One refused before OKX's engine, or decided and never sent, is not pending.
    const noSendPending = placementSent ? refusedBeforePlacing(error) : decidedUnsent;
    const applied = await this.transitions.retryLater(claim, delay, reason, { noSendPending });
    if (applied === 'superseded') return { orderId: order.id, status: 'canceled', reconciled: false, reason: SUPERSEDED_CLOSE_REASON };
    return { orderId: order.id, status: applied ? 'retry' : 'lost_lease', reconciled: false, reason };
  }

  log(order: ClaimedOrder, result: ExecutionResult, started: number): ExecutionResult {
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
