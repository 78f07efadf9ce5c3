import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { PlanType } from '@torgovo/plans';
import { BillingConfig } from './billing-config';
import { UserSubscription } from './entities/user-subscription.entity';
import { EntitlementErrors } from './errors';
import { CURRENT_STATUSES, SubscriptionStatus } from './subscription-states';

/** What the user's current plan of one type allows. */
export interface Entitlement {
  subscription_id: string;
  plan_id: string;
  plan_code: string;
  plan_type: PlanType;
  status: SubscriptionStatus;
  end_date: Date | null;
  /** null = unlimited. */
  max_bots: number | null;
  /** null = unlimited. */
  max_trading_pairs: number | null;
  live_trading: boolean;
  /** The REST API with personal access tokens is included (set by find(); the receive path's own lookup leaves it out). */
  api_access?: boolean;
  /** Notifications may go to Telegram (set by find(), like api_access). */
  telegram_notifications?: boolean;
  profit_share_percentage: string | null;
  /** Managed plans: the monthly return (percent) the plan states; the managed-bots report measures the shortfall against it. */
  guaranteed_monthly_return?: string | null;
}

/**
 * The bots that already count against the limits, excluding the one being checked.
 * The caller (custom-bots, managed-bots) owns the bots table and passes:
 * - on bot creation: all of the user's bots of this plan type;
 * - on bot start and on every webhook received: the user's other running bots.
 */
export interface BotUsage {
  bots: number;
  /** Distinct symbols of those bots, normalized the same way as `symbol` below (e.g. 'BTC/USDT'). */
  symbols: readonly string[];
}

export interface BotCheck {
  usage: BotUsage;
  /** The symbol of the bot being checked; omit for managed bots (pairs are the platform's). */
  symbol?: string;
  live: boolean;
}

/** Pure limit check, usable on an Entitlement already in hand (the webhook hot path). */
export function checkBotLimits(ent: Entitlement, check: BotCheck): void {
  if (check.live && !ent.live_trading) throw EntitlementErrors.liveTradingNotAllowed();
  if (ent.max_bots !== null && check.usage.bots + 1 > ent.max_bots) {
    throw EntitlementErrors.planLimit(`Your plan allows ${ent.max_bots} bot${ent.max_bots === 1 ? '' : 's'}`);
  }
  if (ent.max_trading_pairs !== null && check.symbol !== undefined) {
    const symbols = new Set(check.usage.symbols);
    if (!symbols.has(check.symbol) && symbols.size + 1 > ent.max_trading_pairs) {
      throw EntitlementErrors.planLimit(
        `Your plan allows ${ent.max_trading_pairs} trading pair${ent.max_trading_pairs === 1 ? '' : 's'}`,
      );
    }
  }
}

type AccessFields = 'status' | 'end_date' | 'auto_renew' | 'cancel_at_period_end' | 'payment_method' | 'stripe_subscription_id';

/**
 * Renews past end_date (so keeps access through the grace): a paid subscription set to renew, or
 * a trial with a card on file at Stripe, whose first charge may land after end_date. The billing
 * sweep's RENEWABLE SQL (billing-sweeps.ts) is the same rule: keep the two together.
 */
export function isRenewable(sub: Pick<UserSubscription, AccessFields>): boolean {
  if (!sub.auto_renew || sub.cancel_at_period_end || sub.payment_method === 'none') return false;
  return sub.status !== 'trial' || sub.stripe_subscription_id !== null;
}

/**
 * Whether a current-state row still grants access at `now`: the scheduler may not have
 * swept it yet, so the dates decide, with the sweep's rule: a renewable subscription keeps
 * access through the grace period after end_date; everything else ends at end_date; free never ends.
 */
export function grantsAccess(sub: Pick<UserSubscription, AccessFields>, now: Date, graceMs: number): boolean {
  if (!CURRENT_STATUSES.includes(sub.status)) return false;
  if (sub.end_date === null) return true;
  const renewable = isRenewable(sub);
  return sub.end_date.getTime() + (renewable ? graceMs : 0) > now.getTime();
}

/** A row of findMany's statement: node-postgres's types (timestamptz → Date, integer → number, numeric → string), as TypeORM gave them. */
interface EntitlementRow extends Pick<UserSubscription, 'id' | 'user_id' | 'plan_type' | AccessFields> {
  plan_id: string;
  plan_code: string;
  max_bots: number | null;
  max_trading_pairs: number | null;
  live_trading: boolean;
  api_access: boolean;
  telegram_notifications: boolean;
  profit_share_percentage: string | null;
  guaranteed_monthly_return: string | null;
}

@Injectable()
export class EntitlementsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
  ) {}

  /**
   * Pass the caller's transaction manager when called inside one: on embedded PGlite
   * (pglite-socket serializes whole transactions) a query on another pooled connection
   * would wait for that transaction forever.
   */
  async find(userId: string, planType: PlanType, now: Date = new Date(), manager?: EntityManager): Promise<Entitlement | null> {
    return (await this.findMany([userId], planType, now, manager)).get(userId) ?? null;
  }

  /**
   * find() for many users in one statement (the worker's batch of orders): the users a subscription
   * of `planType` grants access now. Plain SQL reading only the columns the rule and the entitlement
   * need: TypeORM's find with the plan relation hydrated two entities per row and parsed ten
   * timestamps of which one is read, ~5 % of the worker's CPU in a live burst (bench/burst profile).
   */
  async findMany(userIds: readonly string[], planType: PlanType, now: Date = new Date(), manager?: EntityManager): Promise<Map<string, Entitlement>> {
    const result = new Map<string, Entitlement>();
    if (userIds.length === 0) return result;
    const rows = (await (manager ?? this.ds.manager).query(
      `SELECT s.id, s.user_id, s.plan_type, s.status, s.end_date, s.auto_renew, s.cancel_at_period_end, s.payment_method,
              s.stripe_subscription_id, p.id AS plan_id, p.code AS plan_code, p.max_bots, p.max_trading_pairs, p.live_trading,
              p.api_access, p.telegram_notifications, p.profit_share_percentage, p.guaranteed_monthly_return
         FROM user_subscriptions s
         JOIN subscription_plans p ON p.id = s.plan_id
        WHERE s.user_id = ANY($1::uuid[]) AND s.plan_type = $2 AND s.status = ANY($3::varchar[])`,
      [[...new Set(userIds)], planType, [...CURRENT_STATUSES]],
    )) as EntitlementRow[];
    for (const row of rows) {
      if (!grantsAccess(row, now, this.billing.graceMs)) continue;
      result.set(row.user_id, {
        subscription_id: row.id,
        plan_id: row.plan_id,
        plan_code: row.plan_code,
        plan_type: row.plan_type,
        status: row.status,
        end_date: row.end_date,
        max_bots: row.max_bots,
        max_trading_pairs: row.max_trading_pairs,
        live_trading: row.live_trading,
        api_access: row.api_access,
        telegram_notifications: row.telegram_notifications,
        profit_share_percentage: row.profit_share_percentage,
        guaranteed_monthly_return: row.guaranteed_monthly_return,
      });
    }
    return result;
  }

  /** 403 no_active_subscription, or live_trading_not_allowed when `live` and the plan is paper only. */
  async require(userId: string, planType: PlanType, options: { live?: boolean } = {}, now?: Date, manager?: EntityManager): Promise<Entitlement> {
    const ent = await this.find(userId, planType, now, manager);
    if (!ent) throw EntitlementErrors.noActiveSubscription(planType);
    if (options.live && !ent.live_trading) throw EntitlementErrors.liveTradingNotAllowed();
    return ent;
  }

  /** May this user create (or start, or keep trading on) one more bot? See BotUsage for what to count. */
  async assertCanRunBot(userId: string, planType: PlanType, check: BotCheck, now?: Date, manager?: EntityManager): Promise<Entitlement> {
    const ent = await this.require(userId, planType, { live: check.live }, now, manager);
    checkBotLimits(ent, check);
    return ent;
  }
}
