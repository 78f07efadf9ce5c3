import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Decimal } from '@torgovo/core';
import { EntitlementsService } from '@torgovo/subscriptions';
import { ExchangeCredentialsService, UsersService } from '@torgovo/users';
import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import type { Market } from '../gateway/exchange-gateway';
import type { OrderRecord } from '../orders/entities/order.entity';
import { BotPosition, followerPositionKey, markTargetApplied, readBotPositions, readFollowerPositions } from './bot-positions';
import { OrderOwners } from './order-owners';
import type { ClaimToken, OrderTransitions } from './order-transitions';
import { decidePlacement, failedCheck, PlacementStates, SendDecision } from './placement-rule';

/** What the executor read from the exchange before deciding (no lock is held across network calls). */
export interface PreRead {
  /** null: nothing could be read (no keys for the order's exchange); the rule cancels before sizing. */
  market: Market | null;
  free_quote: string | null;
  reference_price: string | null;
  /** A managed follower's live order: the price it would meet now, for the slippage check (null otherwise). */
  market_price?: string | null;
  /** The credential whose gateway will send (live); the decision sends only if it is still the current one. */
  credential_id: string | null;
}

export type Verdict =
  | { kind: 'send'; decision: SendDecision }
  | { kind: 'canceled'; reason: string }
  | { kind: 'lost_lease' }
  /** The keys changed between the reads and the decision: decide again with the new ones. */
  | { kind: 'credential_moved' };

/**
 * Runs the placement rule (placement-rule.ts) at the moment of the send, in one transaction:
 * 1. share-locks and reads the states, in the order the writers lock them (user — deactivation;
 *    credential — connect/disconnect; bot — stop, delete, subscription end; or a managed follower's
 *    follow and managed bot — unsubscribe, stop-loss, pause; then its position; last the order row
 *    itself — a user's cancel), so each change either committed before and is seen, or waits until
 *    the send is fenced (and then finds the order sent: it is canceled on the exchange);
 * 2. decides: cancel with a reason, or the size;
 * 3. writes the outcome: the order ends `canceled`, or the claim is confirmed and renewed with
 *    sent_at, the credential and the resolved size (OrderTransitions.confirmClaim).
 * The send itself happens after the commit: a stop never waits for an exchange call.
 */
@Injectable()
export class PlacementDecider {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly users: UsersService,
    private readonly credentials: ExchangeCredentialsService,
    private readonly entitlements: EntitlementsService,
    private readonly owners: OrderOwners,
  ) {}

  decide(transitions: OrderTransitions, claim: ClaimToken, order: OrderRecord, pre: PreRead, leaseMs: number): Promise<Verdict> {
    return this.ds.transaction(async (m): Promise<Verdict> => {
      const states = await this.readStates(m, order, pre);
      // The checks first: a refusal does not depend on what was read from the exchange.
      const refused = failedCheck(order, states);
      if (!refused && order.mode === 'live' && pre.credential_id !== states.credential!.id) return { kind: 'credential_moved' };
      const decision = refused ?? decidePlacement(order, states, pre.market);
      if (decision.target_signal_at !== null && order.bot_id !== null) await markTargetApplied(m, order.bot_id, decision.target_signal_at);
      if (!decision.send) {
        if (!(await transitions.end(claim, 'canceled', decision.message, m))) throw new LostLease();
        return { kind: 'canceled', reason: decision.message };
      }
      const confirmed = await transitions.confirmClaim(m, claim, leaseMs, {
        credentialId: order.mode === 'live' ? pre.credential_id : null,
        amount: decision.resolved.amount,
        quoteAmount: decision.resolved.quote_amount,
        side: decision.resolved.side,
      });
      // Nothing of this decision may last when the claim was lost: the transaction is rolled back.
      if (!confirmed) throw new LostLease();
      return { kind: 'send', decision };
    }).catch((error: unknown): Verdict => {
      if (error instanceof LostLease) return { kind: 'lost_lease' };
      throw error;
    });
  }

  private async readStates(m: EntityManager, order: OrderRecord, pre: PreRead): Promise<PlacementStates> {
    const userActive = await this.users.isActiveLocked(order.user_id, m);
    const credential = order.mode === 'live' ? await this.credentials.currentLocked(order.user_id, m) : null;
    let bot: PlacementStates['bot'] = null;
    let access: PlacementStates['access'] = null;
    let position: PlacementStates['position'] = NO_POSITION;
    if (order.bot_id !== null) {
      bot = (await this.owners.bots().lockForPlacement(m, order.bot_id)) ?? 'missing';
      if (bot !== 'missing') {
        const ent = await this.entitlements.find(order.user_id, bot.plan_type, new Date(), m);
        access = ent ? { live_trading: ent.live_trading } : null;
      }
      position = await readPositionFor(m, order);
    } else if (order.managed_bot_id !== null) {
      // A managed-bot follower's order: the follow (and its managed bot) stand where a bot stands.
      bot = (await this.owners.managedFollows().lockForPlacement(m, order)) ?? 'missing';
      if (bot !== 'missing') {
        const ent = await this.entitlements.find(order.user_id, bot.plan_type, new Date(), m);
        access = ent ? { live_trading: ent.live_trading } : null;
      }
      position = await readPositionFor(m, order);
    }
    return {
      cancel_requested: await cancelRequestedLocked(m, order.id),
      bot,
      user_active: userActive,
      access,
      credential,
      position,
      free_quote: pre.free_quote,
      reference_price: pre.reference_price,
      market_price: pre.market_price ?? null,
    };
  }
}

class LostLease extends Error {}

const NO_POSITION: PlacementStates['position'] = { amount: new Decimal(0), last_target_signal_at: null };

/**
 * The position an order is sized from, read only when the size depends on it (no lock: a fill
 * recorded after this read is, for this decision, a fill that came after it): the bot's, or a
 * managed follower's own in that symbol. A market order sent but not read back yet (the exchange's
 * answer came without its fill) would be missed by sizing now: that order waits (transient
 * position_unsettled) until the open-orders sync reads it.
 */
export async function readPositionFor(m: EntityManager, order: OrderRecord): Promise<PlacementStates['position']> {
  const [position] = await readPositionsFor(m, [order]);
  if ('error' in position) throw position.error;
  return position;
}

/** readPositionFor for a batch: at most two statements whatever its size; an unsettled position is that order's error. */
export async function readPositionsFor(m: EntityManager, orders: readonly OrderRecord[]): Promise<Array<PlacementStates['position'] | { error: unknown }>> {
  const sized = orders.filter(sizedFromPosition);
  const botIds = sized.filter((o) => o.bot_id !== null).map((o) => o.bot_id!);
  const followerKeys = sized.filter((o) => o.bot_id === null && o.managed_bot_id !== null).map((o) => ({ user_id: o.user_id, managed_bot_id: o.managed_bot_id!, symbol: o.symbol, mode: o.mode }));
  const bots = botIds.length > 0 ? await readBotPositions(m, botIds) : new Map<string, BotPosition>();
  const followers = followerKeys.length > 0 ? await readFollowerPositions(m, followerKeys) : new Map<string, BotPosition>();
  return orders.map((order) => {
    if (!sizedFromPosition(order)) return NO_POSITION;
    if (order.bot_id !== null) return settledOr(bots.get(order.bot_id)!, 'bot');
    if (order.managed_bot_id === null) return NO_POSITION;
    return settledOr(followers.get(followerPositionKey({ user_id: order.user_id, managed_bot_id: order.managed_bot_id, symbol: order.symbol, mode: order.mode }))!, 'follower');
  });
}

function settledOr(read: BotPosition, owner: 'bot' | 'follower'): BotPosition | { error: unknown } {
  if (read.unsettled === 0) return read;
  return { error: ExchangeError.transient(C.unavailable, `position_unsettled: an earlier market order of this ${owner} is not read back yet; sized once it is`) };
}

/** Locks the order row (confirmClaim writes it next anyway): a cancel request commits before this read or after the decision. */
async function cancelRequestedLocked(m: EntityManager, orderId: string): Promise<boolean> {
  const rows = (await m.query(`SELECT cancel_requested_at IS NOT NULL AS requested FROM orders WHERE id = $1 FOR UPDATE`, [orderId])) as Array<{ requested: boolean }>;
  return rows[0]?.requested ?? false;
}

/** Orders whose size depends on the bot's position: closes and percent sells, targets, and capped fixed sells. */
function sizedFromPosition(order: OrderRecord): boolean {
  return order.position_percent !== null || order.target_position !== null || order.side === 'sell';
}
