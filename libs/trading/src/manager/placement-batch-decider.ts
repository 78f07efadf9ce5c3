import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EntitlementsService } from '@torgovo/subscriptions';
import { ExchangeCredentialsService, UsersService } from '@torgovo/users';
import type { OrderRecord } from '../orders/entities/order.entity';
import { markTargetApplied } from './bot-positions';
import { OrderOwners } from './order-owners';
import type { ClaimToken, OrderTransitions } from './order-transitions';
import { PreRead, readPositionsFor, Verdict } from './placement-decider';
import { BotPlacementState, CancelDecision, decidePlacement, failedCheck, PlacementDecision, PlacementStates, SendDecision } from './placement-rule';

export interface BatchDecisionItem {
  claim: ClaimToken;
  order: OrderRecord;
  pre: PreRead;
}

/**
 * What decideBatch's caller does, inside the decision's transaction, with the orders confirmed to
 * send — instead of the decider's own confirmClaims: places them where the placement is itself a
 * database write (the paper exchange) and writes the confirmation with the outcome
 * (OrderTransitions.confirmAndRecordMany). Every claim it is given was checked under the row lock
 * (still `submitting` under this attempt, lease not passed), so it must write them all, or throw:
 * the whole transaction — decision, placements — then rolls back.
 */
export type PlaceWithinDecision = (m: EntityManager, sends: ReadonlyArray<{ item: BatchDecisionItem; decision: SendDecision }>) => Promise<Set<string>>;

/** Per order: the decider's verdict, or the error that order alone hit (a bad size, an unsettled position). */
export type BatchVerdict = Verdict | { kind: 'error'; error: unknown };

/**
 * The placement rule (placement-rule.ts) for a batch of orders (paper, or live with their pre-reads), in ONE transaction and a
 * fixed number of statements instead of ~6 per order — the same states read the same way as
 * PlacementDecider, at the same moment (right before the send), in the same lock order, set-wise:
 *   1. users (share, id order), then the live orders' current credentials (share, id order: connect,
 *   disconnect and key replacement retire that row), 2. bots (share, id order), then managed bots and
 *   follows (share, id order), 3. the subscriptions that grant access (read), 4. positions (only orders sized from one; one statement for bots, one for followers),
 *   5. the order rows themselves (FOR UPDATE, id order) — a user's cancel;
 * then the pure rule per order in JS, and the outcomes written set-wise: cancels (endMany) and
 * confirmed claims (confirmClaims, which set sent_at: the fence). Each writer's change either committed
 * before the locks (and is seen) or waits until the batch commits (and then finds the orders sent).
 * A live order whose checks pass but whose keys are no longer the ones its pre-reads were made with
 * (replaced between the reads and this decision) gets `credential_moved` and no write at all: the
 * caller decides it again with the new keys (the single path), never sends it with the old ones.
 */
@Injectable()
export class PlacementBatchDecider {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly users: UsersService,
    private readonly credentials: ExchangeCredentialsService,
    private readonly entitlements: EntitlementsService,
    private readonly owners: OrderOwners,
  ) {}

  decideBatch(transitions: OrderTransitions, items: readonly BatchDecisionItem[], leaseMs: number, placeWithin?: PlaceWithinDecision): Promise<BatchVerdict[]> {
    return this.ds.transaction(async (m) => {
      const { states, claimed } = await this.readStates(m, items);
      const verdicts: BatchVerdict[] = new Array<BatchVerdict>(items.length);
      const decided: Array<{ index: number; decision: PlacementDecision }> = [];
      const cancels: Array<{ index: number; decision: CancelDecision }> = [];
      const sends: Array<{ index: number; decision: SendDecision }> = [];
      items.forEach((item, index) => {
        const state = states[index];
        if ('error' in state) {
          verdicts[index] = { kind: 'error', error: state.error };
          return;
        }
        // The checks first (as PlacementDecider): a refusal does not depend on the keys the reads were made with.
        if (item.order.mode === 'live' && failedCheck(item.order, state) === null && item.pre.credential_id !== state.credential!.id) {
          verdicts[index] = { kind: 'credential_moved' };
          return;
        }
        let decision: PlacementDecision;
        try {
          decision = decidePlacement(item.order, state, item.pre.market);
        } catch (error) {
          // A size the market refuses: this order's answer, not the batch's.
          verdicts[index] = { kind: 'error', error };
          return;
        }
        decided.push({ index, decision });
        if (decision.send) sends.push({ index, decision });
        else cancels.push({ index, decision });
      });
      const ended = await transitions.endMany(
        cancels.map(({ index, decision }) => ({ claim: items[index].claim, status: 'canceled' as const, reason: decision.message })),
        m,
      );
      let confirmed: Set<string>;
      if (placeWithin) {
        // Only claims still ours (checked under the lock, which holds until commit) are placed.
        const ours = sends.filter(({ index }) => claimed.has(items[index].claim.id));
        confirmed = ours.length > 0 ? await placeWithin(m, ours.map(({ index, decision }) => ({ item: items[index], decision }))) : new Set();
        const unwritten = ours.filter(({ index }) => !confirmed.has(items[index].claim.id)).length;
        if (unwritten > 0) throw new Error(`${unwritten} order(s) placed under a claim checked under lock were not recorded: rolled back`);
      } else {
        confirmed = await transitions.confirmClaims(
          m,
          sends.map(({ index, decision: { resolved } }) => ({
            claim: items[index].claim,
            sent: { credentialId: items[index].order.mode === 'live' ? items[index].pre.credential_id : null, amount: resolved.amount, quoteAmount: resolved.quote_amount, side: resolved.side },
          })),
          leaseMs,
        );
      }
      for (const { index, decision } of decided) {
        const { order, claim } = items[index];
        const applied = decision.send ? confirmed.has(claim.id) : ended.has(claim.id);
        // A claim lost meanwhile changes nothing (the single path rolls back; here only that order's writes are skipped).
        if (!applied) {
          verdicts[index] = { kind: 'lost_lease' };
          continue;
        }
        if (decision.target_signal_at !== null && order.bot_id !== null) await markTargetApplied(m, order.bot_id, decision.target_signal_at);
        verdicts[index] = decision.send ? { kind: 'send', decision } : { kind: 'canceled', reason: decision.message };
      }
      return verdicts;
    });
  }

  /** The states per order, and the ids whose claim is still ours (checked as the order rows are locked). */
  private async readStates(m: EntityManager, items: readonly BatchDecisionItem[]): Promise<{ states: Array<PlacementStates | { error: unknown }>; claimed: Set<string> }> {
    const orders = items.map((i) => i.order);
    const active = await this.users.activeLockedMany(orders.map((o) => o.user_id), m);
    const liveUsers = orders.filter((o) => o.mode === 'live').map((o) => o.user_id);
    const credentials = liveUsers.length > 0 ? await this.credentials.currentLockedMany(liveUsers, m) : new Map<string, { id: string; exchange: string }>();
    const botIds = orders.filter((o) => o.bot_id !== null).map((o) => o.bot_id!);
    const bots = botIds.length > 0 ? await this.owners.bots().lockManyForPlacement(m, botIds) : new Map<string, BotPlacementState>();
    const followers = orders.map((o, i) => ({ o, i })).filter(({ o }) => o.bot_id === null && o.managed_bot_id !== null);
    const followStates = followers.length > 0 ? await this.owners.managedFollows().lockManyForPlacement(m, followers.map((f) => f.o)) : new Map<number, BotPlacementState>();
    const botOf: Array<BotPlacementState | 'missing' | null> = orders.map((o) => (o.bot_id !== null ? (bots.get(o.bot_id) ?? 'missing') : o.managed_bot_id !== null ? 'missing' : null));
    followers.forEach(({ i }, k) => (botOf[i] = followStates.get(k) ?? 'missing'));

    const now = new Date();
    const usersOf = (plan: BotPlacementState['plan_type']) => orders.filter((_, i) => typeof botOf[i] === 'object' && botOf[i] !== null && (botOf[i] as BotPlacementState).plan_type === plan).map((o) => o.user_id);
    const access = {
      custom_bot: await this.entitlements.findMany(usersOf('custom_bot'), 'custom_bot', now, m),
      managed_bot: await this.entitlements.findMany(usersOf('managed_bot'), 'managed_bot', now, m),
    };
    const positions = await readPositionsFor(m, orders);
    const { cancelRequested, claimed } = await lockOrderRows(m, items.map((i) => i.claim));
    const states = items.map(({ order, pre }, i): PlacementStates | { error: unknown } => {
      const position = positions[i];
      if ('error' in position) return position;
      const bot = botOf[i];
      const ent = bot !== null && bot !== 'missing' ? access[bot.plan_type].get(order.user_id) : undefined;
      return {
        cancel_requested: cancelRequested.has(order.id),
        bot,
        user_active: active.has(order.user_id),
        access: ent ? { live_trading: ent.live_trading } : null,
        credential: order.mode === 'live' ? (credentials.get(order.user_id) ?? null) : null,
        position,
        free_quote: pre.free_quote,
        reference_price: pre.reference_price,
        market_price: pre.market_price ?? null,
      };
    });
    return { states, claimed };
  }
}

/**
 * The orders' rows locked in id order (confirmClaims writes them next anyway): the ids whose user
 * asked to cancel, and those whose claim is still ours — `submitting` under this attempt, lease not
 * passed (confirmClaims' own guard) — which, locked, stay so until this transaction ends.
 */
async function lockOrderRows(m: EntityManager, claims: readonly ClaimToken[]): Promise<{ cancelRequested: Set<string>; claimed: Set<string> }> {
  const rows = (await m.query(
    `SELECT o.id, o.cancel_requested_at IS NOT NULL AS requested,
            (o.status = 'submitting' AND o.attempts = c.attempts AND o.next_attempt_at > now()) AS ours
       FROM orders o JOIN unnest($1::uuid[], $2::int[]) AS c(id, attempts) ON c.id = o.id
      ORDER BY o.id FOR UPDATE OF o`,
    [claims.map((c) => c.id), claims.map((c) => c.attempts)],
  )) as Array<{ id: string; requested: boolean; ours: boolean }>;
  return { cancelRequested: new Set(rows.filter((r) => r.requested).map((r) => r.id)), claimed: new Set(rows.filter((r) => r.ours).map((r) => r.id)) };
}
