import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, MicroBatcher, PreparedStatement, sha256Hex } from '@torgovo/core';
import { CURRENT_STATUSES, SubscriptionStatus } from '@torgovo/subscriptions';
import type { BotMode, BotOrderType, BotStatus, SizingType } from './entities/bot.entity';
import type { RowVersions } from './webhook-accept-statements';
import { WebhookConfig } from './webhook-config';
import { looksLikeWebhookSecret } from './webhook-secret';

/** Everything the hot path needs about the webhook, its bot and its owner, in one query. */
export interface WebhookTarget {
  secret_hash: string;
  webhook_version: string;
  bot_version: string;
  user_version: string;
  sub_version: string | null;
  plan_version: string | null;
  webhook_id: string;
  user_id: string;
  max_lag_seconds: number;
  rate_limit_per_minute: number;
  bot_id: string;
  symbol: string;
  mode: BotMode;
  exchange: string;
  order_type: BotOrderType;
  sizing_type: SizingType;
  sizing_value: string;
  status: BotStatus;
  stop_reason: string | null;
  user_active: boolean;
  exchange_connected: boolean;
  other_running: number;
  other_symbols: string[];
  /** The user's current custom_bot subscription and its plan's limits; null columns when there is none. */
  sub_id: string | null;
  sub_status: SubscriptionStatus | null;
  sub_end_date: Date | null;
  sub_auto_renew: boolean | null;
  sub_cancel_at_period_end: boolean | null;
  sub_payment_method: 'stripe' | 'crypto' | 'none' | null;
  sub_stripe_subscription_id: string | null;
  plan_id: string | null;
  plan_code: string | null;
  max_bots: number | null;
  max_trading_pairs: number | null;
  live_trading: boolean | null;
  profit_share_percentage: string | null;
}

/**
 * The webhook, its bot, the owner, the owner's other running bots and the current custom_bot
 * subscription with its plan, for a set of secret hashes, in one round trip. The subscription join is the query of
 * EntitlementsService.find (current statuses, one row per user and plan type by a unique index);
 * the access rule on the dates and the limits stay subscriptions' own pure functions
 * (grantsAccess, checkBotLimits), applied in entitlementOf below.
 */
const TARGET_SQL = `
  SELECT w.secret_hash, w.xmin::text AS webhook_version, b.xmin::text AS bot_version, u.xmin::text AS user_version,
         s.xmin::text AS sub_version, p.xmin::text AS plan_version,
         w.id AS webhook_id, w.user_id, w.max_lag_seconds, w.rate_limit_per_minute,
         b.id AS bot_id, b.symbol, b.mode, b.exchange, b.order_type, b.sizing_type, b.sizing_value, b.status, b.stop_reason,
         u.is_active AS user_active,
         (b.mode = 'paper' OR EXISTS (SELECT 1 FROM exchange_credentials c WHERE c.user_id = w.user_id AND c.exchange = b.exchange AND c.retired_at IS NULL)) AS exchange_connected,
         o.n AS other_running, o.symbols AS other_symbols,
         s.id AS sub_id, s.status AS sub_status, s.end_date AS sub_end_date, s.auto_renew AS sub_auto_renew,
         s.cancel_at_period_end AS sub_cancel_at_period_end, s.payment_method AS sub_payment_method,
         s.stripe_subscription_id AS sub_stripe_subscription_id,
         p.id AS plan_id, p.code AS plan_code, p.max_bots, p.max_trading_pairs, p.live_trading, p.profit_share_percentage
    FROM bot_webhooks w
    JOIN bots b ON b.id = w.bot_id AND b.deleted_at IS NULL
    JOIN users u ON u.id = w.user_id
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n, coalesce(array_agg(DISTINCT x.symbol), '{}') AS symbols
        FROM bots x
       WHERE x.user_id = w.user_id AND x.status = 'running' AND x.deleted_at IS NULL AND x.id <> b.id
    ) o
    LEFT JOIN user_subscriptions s ON s.user_id = w.user_id AND s.plan_type = 'custom_bot' AND s.status = ANY($2::varchar[])
    LEFT JOIN subscription_plans p ON p.id = s.plan_id
   WHERE w.secret_hash = ANY($1::varchar[]) AND w.is_active`;

/** The versions of the rows the target was read from, for the write to check (null: no subscription, nothing to write). */
export function rowVersionsOf(t: WebhookTarget): RowVersions | null {
  if (t.sub_id === null || t.sub_version === null || t.plan_version === null) return null;
  return { webhook: t.webhook_version, bot: t.bot_version, user: t.user_version, subscription_id: t.sub_id, subscription: t.sub_version, plan: t.plan_version };
}

/** Expired entries dropped per lookup at most (a lookup stays O(1); a steady stream of alerts empties any backlog). */
const SWEEP_PER_LOOKUP = 64;

interface Cached {
  target: WebhookTarget;
  until: number;
}

/**
 * The receive path's lookup of a webhook by its secret: the lookups of alerts that arrive together
 * go to PostgreSQL as one query, and a found target is kept for WEBHOOK_LOOKUP_CACHE_MS.
 *
 * Why a cached target is safe: it carries the row version (`xmin`) of the webhook, bot, user,
 * subscription and plan it was read from, and the write statement (acceptStatement) writes nothing
 * when any of those rows changed since — a stop, a rotation or deactivation of the webhook, a
 * deactivated user, a subscription or plan change; the receive path then forgets the entry and looks
 * again, so the sender gets the honest 404/403. A refusal is never answered from the cache either.
 * That version check is done by the write itself: it works the same on every replica and on
 * embedded PGlite, with no invalidation message to miss. Not versioned: the owner's other bots
 * (their count is checked when a bot starts) and exchange keys (the executor checks them before
 * sending); those may be WEBHOOK_LOOKUP_CACHE_MS old here.
 */
@Injectable()
export class WebhookTargets {
  private readonly cache = new Map<string, Cached>();
  private readonly loader = new MicroBatcher<string, WebhookTarget | null>((hashes) => this.load(hashes), { maxBatch: 500, maxInFlight: 2 });
  /** Every first alert of a webhook (a bar close over thousands of webhooks is all first alerts) runs it: prepared once per connection. */
  private readonly targetQuery: PreparedStatement;

  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(WebhookConfig) private readonly config: WebhookConfig,
    appConfig: AppConfig,
  ) {
    this.targetQuery = new PreparedStatement(ds, 'webhook_targets', !appConfig.embedded);
  }

  /** null: no active webhook has this secret. `fresh`: skip the cache (after the write found it stale). */
  async find(secret: string, fresh = false): Promise<WebhookTarget | null> {
    // A secret is 43 base64url characters; anything else cannot match, so skip the query.
    if (!looksLikeWebhookSecret(secret)) return null;
    const hash = sha256Hex(secret);
    const ttl = this.config.WEBHOOK_LOOKUP_CACHE_MS;
    const now = Date.now();
    this.sweep(now);
    const hit = fresh ? undefined : this.cache.get(hash);
    if (hit && hit.until > now) return hit.target;
    const target = await this.loader.submit(hash);
    if (target && ttl > 0) this.remember(hash, target, ttl);
    else this.cache.delete(hash);
    return target;
  }

  /** Entries held now, expired ones not yet swept included. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * Drops expired entries from the front of the map, a few per lookup. With one lifetime for all and
   * every refresh re-inserted at the back, the front is the oldest: after a bar close over 10,000
   * webhooks their entries go as the next alerts arrive, instead of staying until 20,000 evict them.
   */
  private sweep(now: number): void {
    let dropped = 0;
    for (const [hash, entry] of this.cache) {
      if (entry.until > now || dropped >= SWEEP_PER_LOOKUP) return;
      this.cache.delete(hash);
      dropped += 1;
    }
  }

  forget(secret: string): void {
    this.cache.delete(sha256Hex(secret));
  }

  private remember(hash: string, target: WebhookTarget, ttl: number): void {
    this.cache.delete(hash);
    // Oldest first in a Map: evict from the front when full.
    if (this.cache.size >= this.config.WEBHOOK_LOOKUP_CACHE_SIZE) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(hash, { target, until: Date.now() + ttl });
  }

  private async load(hashes: string[]): Promise<Array<WebhookTarget | null>> {
    const rows = await this.targetQuery.query<WebhookTarget>(TARGET_SQL, [[...new Set(hashes)], CURRENT_STATUSES]);
    const byHash = new Map(rows.map((r) => [r.secret_hash, r]));
    return hashes.map((h) => byHash.get(h) ?? null);
  }
}
