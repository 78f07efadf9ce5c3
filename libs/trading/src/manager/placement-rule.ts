import { Decimal } from '@torgovo/core';
import type { Market } from '../gateway/exchange-gateway';
import type { OrderRecord } from '../orders/entities/order.entity';
import { percentBudget, Placement, planPlacement, SizedOrder } from './order-sizing';

/**
 * THE PLACEMENT RULE: whether an order may still be sent, and how big it is. Decided by the
 * executor right before it sends, in the transaction that fences the send (placement-decider.ts),
 * from these states read at that moment:
 *
 *   not_canceled                the user has not asked to cancel it (POST /orders/{id}/cancel)
 *   bot_running                 its bot exists, is not deleted and is running — or, for a close the
 *                               user asked for (POST /bots/{id}/close), stopped but not deleted; for a
 *                               managed-bot follower's order: the follow is active and the managed bot is
 *                               not paused (the managed-bots lib says so, and which closing orders an
 *                               ended follow still lets through)
 *   user_active                 its user is active
 *   subscription_grants_access  the bot's plan type is granted by a subscription now (subscriptions' grantsAccess)
 *   live_trading_allowed        for a live order: that plan allows live trading
 *   credential_unchanged        for a live order: keys are connected, for its exchange, and (once sent)
 *                               the very credential it was first sent with
 *   max_slippage                a managed follower's live order: the market price now is within the
 *                               follower's max entry slippage of the lead's price (the order's price)
 *   size                        close / percent-of-position sells, target positions and percent buys
 *                               are sized now from the bot's own position or the free balance; a
 *                               fixed-size sell sells at most the bot's position unless the bot allows more;
 *                               a managed follower's buy spends at most the follow's investment now × the
 *                               signal's fraction (a withdrawal after the fan-out is not spent)
 *
 * An order that fails a check ends `canceled` with the reason (CancelReason) and is never sent.
 * Nothing else edits orders on those state changes: the listeners that stop bots, end subscriptions,
 * deactivate users or change keys leave the orders to this rule.
 */
export const PLACEMENT_CHECKS = [
  'not_canceled',
  'bot_running',
  'user_active',
  'subscription_grants_access',
  'live_trading_allowed',
  'credential_unchanged',
  'max_slippage',
  'size',
] as const;

export const CancelReasons = {
  botStopped: 'bot_stopped',
  botDeleted: 'bot_deleted',
  userInactive: 'user_inactive',
  subscriptionInactive: 'subscription_inactive',
  liveTradingNotAllowed: 'live_trading_not_allowed',
  exchangeDisconnected: 'exchange_disconnected',
  credentialChanged: 'credential_changed',
  noPosition: 'no_position',
  atTarget: 'at_target',
  superseded: 'superseded',
  userCanceled: 'user_canceled',
  followEnded: 'follow_ended',
  managedBotPaused: 'managed_bot_paused',
  slippageExceeded: 'slippage_exceeded',
  investmentWithdrawn: 'investment_withdrawn',
} as const;

export type CancelReason = (typeof CancelReasons)[keyof typeof CancelReasons];

/** The order's bot as its owning lib reports it (share-locked for the decision). */
export interface BotPlacementState {
  status: 'running' | 'stopped' | 'deleted';
  stop_reason: string | null;
  /** The subscription plan type that must grant access for this bot to trade. */
  plan_type: 'custom_bot' | 'managed_bot';
  allow_selling_beyond_position: boolean;
  /** The reason a non-running state cancels with (default bot_stopped): a managed follow says follow_ended or managed_bot_paused. */
  stopped_as?: CancelReason;
  /** Managed followers: the largest distance (percent) of the market price from the lead's price at which a live order is still sent. */
  max_slippage_pct?: string | null;
  /** When a stopped bot was last started again, or a paused managed bot resumed (null or absent: never): older orders predate a stop or pause. */
  started_at?: Date | null;
  /**
   * A managed follower's signal buy: the follow's investment now and the signal's fraction. The fan-out
   * fixed quote_amount from the investment then; a withdrawal since must not be spent (absent: no cap).
   */
  follow_sizing?: { investment: string; fraction: string } | null;
}

export interface PlacementStates {
  /** The user asked to cancel the order (read under the order's row lock, in the decision's transaction). */
  cancel_requested: boolean;
  /** null: the order belongs to no bot (a tool's manual order): no bot and no subscription check. */
  bot: BotPlacementState | 'missing' | null;
  user_active: boolean;
  /** What the subscription of the bot's plan type grants now; null: none grants access. Unused without a bot. */
  access: { live_trading: boolean } | null;
  /** Live orders: the user's current credential; null: none connected. Unused for paper. */
  credential: { id: string; exchange: string } | null;
  /** The bot's own position in base units (fills, less what its open sells still take), and its last applied target alert. */
  position: { amount: Decimal; last_target_signal_at: Date | null; open_buys?: Decimal };
  /** Read from the exchange before the decision: the free quote balance (percent buys only). */
  free_quote: string | null;
  /** The price sizing converts at when the order carries none (paper fills at it). */
  reference_price: string | null;
  /** Managed followers' live orders: the price the order would meet now (ask for a buy, bid for a sell); null otherwise. */
  market_price?: string | null;
}

export type PlacementOrder = Pick<
  OrderRecord,
  | 'created_at'
  | 'mode'
  | 'exchange'
  | 'type'
  | 'side'
  | 'symbol'
  | 'amount'
  | 'quote_amount'
  | 'quote_percent'
  | 'position_percent'
  | 'target_position'
  | 'signal_at'
  | 'price'
  | 'credential_id'
  | 'source'
  | 'source_ref'
>;

/** The source_ref prefix of a close the user asked for (POST /bots/{id}/close). */
export const MANUAL_CLOSE_REF_PREFIX = 'close:';

/** A close the user asked for: it may run on a stopped bot (a trader stops a bot, then flattens it). */
export function isManualClose(order: Pick<OrderRecord, 'source' | 'source_ref'>): boolean {
  return order.source === 'manual' && order.source_ref.startsWith(MANUAL_CLOSE_REF_PREFIX);
}

export interface SendDecision {
  send: true;
  side: 'buy' | 'sell';
  placement: Placement;
  /** Columns the fencing statement writes: what a sized-at-execution order came to. */
  resolved: { amount: string | null; quote_amount: string | null; side: 'buy' | 'sell' };
  /** A target alert applied: the bot's last applied alert time moves to it. */
  target_signal_at: Date | null;
}

export interface CancelDecision {
  send: false;
  reason: CancelReason;
  message: string;
  target_signal_at: Date | null;
}

export type PlacementDecision = SendDecision | CancelDecision;

function cancel(reason: CancelReason, message: string, targetSignalAt: Date | null = null): CancelDecision {
  return { send: false, reason, message: `${reason}: ${message}`, target_signal_at: targetSignalAt };
}

/** The permission part of the rule: the first check that fails, or null. */
export function failedCheck(order: PlacementOrder, s: PlacementStates): CancelDecision | null {
  if (s.cancel_requested) return cancel(CancelReasons.userCanceled, 'canceled by the user before it was sent');
  if (s.bot === 'missing') return cancel(CancelReasons.botDeleted, 'the bot no longer exists');
  if (s.bot !== null) {
    if (s.bot.status === 'deleted') return cancel(CancelReasons.botDeleted, 'the bot was deleted before this order was placed');
    if (s.bot.status !== 'running' && !isManualClose(order)) {
      return cancel(s.bot.stopped_as ?? CancelReasons.botStopped, `the bot was stopped${s.bot.stop_reason ? ` (${s.bot.stop_reason})` : ''} before this order was placed`);
    }
    // Stopped after this alert was accepted, then started again before the order's turn: the stop
    // still holds for it (an alert from before a stop is not traded after a restart).
    if (s.bot.started_at && order.created_at < s.bot.started_at && !isManualClose(order)) {
      const message =
        s.bot.plan_type === 'managed_bot'
          ? 'the managed bot was paused after this signal and resumed before this order was placed; a signal from before a pause is not traded'
          : 'the bot was stopped after this alert and started again before this order was placed; an alert from before a stop is not traded';
      return cancel(s.bot.stopped_as ?? CancelReasons.botStopped, message);
    }
  }
  if (!s.user_active) return cancel(CancelReasons.userInactive, 'the account was deactivated before this order was placed');
  if (s.bot !== null) {
    if (s.access === null) return cancel(CancelReasons.subscriptionInactive, `no ${s.bot.plan_type} subscription grants access any more`);
    if (order.mode === 'live' && !s.access.live_trading) return cancel(CancelReasons.liveTradingNotAllowed, 'the current plan does not allow live trading');
  }
  if (order.mode === 'live') {
    if (s.credential === null) return cancel(CancelReasons.exchangeDisconnected, 'no exchange keys are connected');
    if (s.credential.exchange !== order.exchange) {
      return cancel(CancelReasons.credentialChanged, `the order is for ${order.exchange}, the connected exchange is ${s.credential.exchange}`);
    }
    if (order.credential_id !== null && order.credential_id !== s.credential.id) {
      return cancel(CancelReasons.credentialChanged, 'the exchange keys were changed after this order was first sent; it is never sent with other keys');
    }
  }
  return null;
}

/** A follower's order whose market moved further from the lead's price than the follower allows is skipped. */
export function slippageRefusal(order: PlacementOrder, s: PlacementStates): CancelDecision | null {
  if (s.bot === null || s.bot === 'missing' || !s.bot.max_slippage_pct || !s.market_price || order.price === null) return null;
  const lead = new Decimal(order.price);
  const distance = new Decimal(s.market_price).minus(lead).abs().div(lead).mul(100);
  if (distance.lte(s.bot.max_slippage_pct)) return null;
  return cancel(
    CancelReasons.slippageExceeded,
    `the market (${new Decimal(s.market_price).toFixed()}) is ${distance.toDecimalPlaces(4).toFixed()}% from the lead's price ${lead.toFixed()}, more than the follower's ${new Decimal(s.bot.max_slippage_pct).toFixed()}%`,
  );
}

/**
 * A managed follower's buy in quote: trunc(investment now × fraction, 8), the fan-out's own formula
 * (signal-fanout.service.ts) at this moment; null for any other order.
 */
function followBudget(order: PlacementOrder, s: PlacementStates): { quote: Decimal; investment: string } | null {
  const sizing = s.bot !== null && s.bot !== 'missing' ? s.bot.follow_sizing : null;
  if (!sizing || order.side !== 'buy' || order.quote_amount === null) return null;
  return { quote: new Decimal(sizing.investment).mul(sizing.fraction).toDecimalPlaces(8, Decimal.ROUND_DOWN), investment: sizing.investment };
}

/**
 * The whole rule: the checks, then the size. Throws an ExchangeError 'permanent' when the size does
 * not meet the market's rules (the executor rejects the order with that reason, as before).
 */
export function decidePlacement(order: PlacementOrder, s: PlacementStates, market: Market | null): PlacementDecision {
  const failed = failedCheck(order, s) ?? slippageRefusal(order, s);
  if (failed) return failed;
  if (market === null) throw new Error('the market was not read: an order that passes the checks is always sized');
  const position = Decimal.max(s.position.amount, 0);
  let sized: SizedOrder & { side: 'buy' | 'sell' };
  let targetSignalAt: Date | null = null;
  // What the fencing statement writes as quote_amount when the order was not sized in percent.
  let fixedQuote = order.quote_amount;

  if (order.target_position !== null) {
    const last = s.position.last_target_signal_at;
    if (last !== null && order.signal_at !== null && order.signal_at.getTime() < last.getTime()) {
      return cancel(CancelReasons.superseded, `a newer target alert (${last.toISOString()}) was already applied to the bot`);
    }
    targetSignalAt = order.signal_at;
    // Spot: a short target means flat.
    const target = Decimal.max(new Decimal(order.target_position), 0);
    // Upwards, what the bot's open buys (resting limit orders) may still buy counts as on its way: a
    // second alert for the same target (a repeat, the next bar's) buys only what they leave short of
    // it, not the whole difference again — before, each alert added a buy while the first rested,
    // compounding past the strategy's position. Downwards only what is held is sold.
    const pending = Decimal.max(s.position.open_buys ?? 0, 0);
    const diff = target.gt(position) ? Decimal.max(target.minus(position.plus(pending)), 0) : target.minus(position);
    const amount = diff.abs().toNearest(market.amountPrecision, Decimal.ROUND_DOWN);
    if (amount.lte(0) || (market.minAmount !== null && amount.lt(market.minAmount))) {
      const buying = pending.gt(0) ? ` and its open buys may still buy ${pending.toFixed()}` : '';
      return cancel(CancelReasons.atTarget, `the bot already holds ${position.toFixed()} ${market.base}${buying}, the target is ${target.toFixed()}`, targetSignalAt);
    }
    const side = diff.gt(0) ? 'buy' : 'sell';
    sized = { ...order, side, amount: amount.toFixed(), quote_amount: null };
  } else if (order.position_percent !== null) {
    if (position.lte(0)) return cancel(CancelReasons.noPosition, `the bot holds no ${market.base} to sell`);
    const amount = position.mul(order.position_percent).div(100).toDecimalPlaces(18, Decimal.ROUND_DOWN);
    sized = { ...order, side: 'sell', amount: amount.toFixed(), quote_amount: null };
  } else if (order.quote_percent !== null) {
    sized = { ...order, side: 'buy', amount: null, quote_amount: percentBudget({ [market.quote]: { free: s.free_quote ?? '0', used: '0', total: '0' } }, market, order.quote_percent) };
  } else {
    const budget = followBudget(order, s);
    if (budget !== null) {
      if (budget.quote.lte(0)) {
        return cancel(CancelReasons.investmentWithdrawn, `the follow's investment now (${new Decimal(budget.investment).toFixed()}) × the signal's fraction leaves nothing to buy`);
      }
      // The smaller of the fan-out's amount and what the investment allows now: a top-up since is not spent either.
      fixedQuote = Decimal.min(new Decimal(order.quote_amount!), budget.quote).toFixed();
    }
    sized = { ...order, side: order.side!, quote_amount: fixedQuote };
  }

  let placement = planPlacement(sized, market, s.reference_price);
  const capped = s.bot !== null && s.bot !== 'missing' && !s.bot.allow_selling_beyond_position;
  if (sized.side === 'sell' && capped && placement.amount !== undefined && new Decimal(placement.amount).gt(position)) {
    if (position.lte(0)) return cancel(CancelReasons.noPosition, `the bot holds no ${market.base} to sell`);
    placement = planPlacement({ ...sized, amount: position.toFixed(), quote_amount: null }, market, s.reference_price);
  }
  const sizedNow = order.position_percent !== null || order.target_position !== null;
  return {
    send: true,
    side: sized.side,
    placement,
    resolved: {
      amount: sizedNow ? (placement.amount ?? null) : order.amount,
      quote_amount: order.quote_percent !== null ? (placement.cost ?? sized.quote_amount) : fixedQuote,
      side: sized.side,
    },
    target_signal_at: targetSignalAt,
  };
}
