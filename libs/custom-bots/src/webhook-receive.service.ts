import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig, constantTimeEqual, DomainError, isDatabaseUnavailable, sha256Hex } from '@torgovo/core';
import { BillingConfig, checkBotLimits, CURRENT_STATUSES, Entitlement, EntitlementErrors, grantsAccess, SubscriptionStatus } from '@torgovo/subscriptions';
import { Market, NewOrder } from '@torgovo/trading';
import type { BotMode, BotOrderType, BotStatus, SizingType } from './entities/bot.entity';
import { BotErrors, RateLimitScope, SignalErrors } from './errors';
import { MarketCatalog } from './market-catalog.service';
import { resolveMarket } from './market-symbols';
import { orderSizeOf } from './signal-sizing';
import { acceptStatement, DedupeClaim, duplicateStatement, Statement } from './webhook-accept-statements';
import { parseTradingViewSignal, TradingViewSignal } from './tradingview-signal';
import { IpAllowlist, isTradingViewSender, normalizeIp, WebhookConfig } from './webhook-config';
import { looksLikeWebhookSecret } from './webhook-secret';
import { bodyForLog, WebhookEventLog, WebhookEventRow } from './webhook-event-log';
import { repeatKey } from './webhook-repeat';

export interface ReceiveInput {
  /** The secret from the URL path. */
  secret: string;
  /** The raw body bytes (any content type), or null when there was none. */
  body: Buffer | null;
  ip: string;
  receivedAt?: Date;
}

export interface ReceiveResult {
  status: 'accepted' | 'duplicate';
  order_id: string;
}

/** Everything the hot path needs about the webhook, its bot and its owner, in one query. */
interface WebhookTarget {
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
 * subscription with its plan, in one round trip. The subscription join is the query of
 * EntitlementsService.find (current statuses, one row per user and plan type by a unique index);
 * the access rule on the dates and the limits stay subscriptions' own pure functions
 * (grantsAccess, checkBotLimits), applied in entitlementOf below.
 */
const TARGET_SQL = `
  SELECT w.id AS webhook_id, w.user_id, w.max_lag_seconds, w.rate_limit_per_minute,
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
   WHERE w.secret_hash = $1 AND w.is_active`;

const MINUTE_MS = 60_000;
/** Clocks differ; an alert stamped further ahead than this is refused rather than trusted. */
const MAX_FUTURE_SKEW_MS = 60_000;

/**
 * POST /custom-bot/webhook/receive/{secret}: TradingView alert → one pending order.
 * Every request leaves exactly one webhook_events row: an accepted row commits in the same
 * statement as its dedupe claim and order (which records the intent: sizes that depend on the bot's
 * position or the balance are resolved by the executor when it sends); a duplicate's row is written with the
 * first order's id once its claim wrote nothing; a rejection writes only its row.
 * Round trips per accepted alert: 2 (lookup, then one write statement); a duplicate: 3.
 */
@Injectable()
export class WebhookReceiveService {
  private readonly logger = new Logger(WebhookReceiveService.name);
  private readonly allowlist: IpAllowlist;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @InjectThrottlerStorage() private readonly throttle: ThrottlerStorage,
    @Inject(WebhookConfig) private readonly webhookConfig: WebhookConfig,
    @Inject(BillingConfig) private readonly billing: BillingConfig,
    config: AppConfig,
    private readonly markets: MarketCatalog,
    private readonly events: WebhookEventLog,
  ) {
    this.allowlist = new IpAllowlist(config.env.WEBHOOK_IP_ALLOWLIST);
  }

  async receive(input: ReceiveInput): Promise<ReceiveResult> {
    const row = this.newRow(input);
    try {
      return await this.process(input, row);
    } catch (err) {
      const e = err instanceof DomainError ? err : null;
      // The database connection lost under the request is answered 503 (AllExceptionsFilter): logged as such.
      const lost = !e && isDatabaseUnavailable(err);
      if (!e && !lost) this.logger.error({ err, event_id: row.id }, 'Webhook processing failed');
      await this.events.insertQuietly({
        ...row,
        outcome: 'rejected',
        status_code: e?.status ?? (lost ? 503 : 500),
        reason: e?.code ?? (lost ? 'database_unavailable' : 'internal_error'),
        message: e?.message ?? (lost ? 'The database is briefly unavailable' : 'Internal error'),
      });
      throw err;
    }
  }

  /**
   * For requests that never reached the controller: refused by Fastify (body over the limit, aborted
   * upload) or sent in another method or shape than POST to the URL (WebhookBodyHooks).
   */
  async recordTransportError(secret: string, ip: string, status: number, code: string, message: string): Promise<void> {
    const row = this.newRow({ secret, body: null, ip });
    const target = await this.findTarget(secret).catch(() => null);
    await this.events.insertQuietly({
      ...row,
      webhook_id: target?.webhook_id ?? null,
      bot_id: target?.bot_id ?? null,
      outcome: 'rejected',
      status_code: status,
      reason: code,
      message,
    });
  }

  private async process(input: ReceiveInput, row: WebhookEventRow): Promise<ReceiveResult> {
    const now = row.received_at;
    const ip = row.ip ?? '';
    const allowed = this.allowlist.allows(ip);
    // The per-address limit guards against floods from elsewhere. TradingView sends every user's
    // alerts from its four addresses (and an allowlist names only such shared senders), so there it
    // would cap the whole platform: those alerts are limited per user and per webhook below.
    const sharedSender = isTradingViewSender(ip) || (this.allowlist.enabled && allowed);
    if (!sharedSender) await this.limit('ip', ip, this.webhookConfig.WEBHOOK_RATE_LIMIT_PER_IP);

    const target = await this.findTarget(input.secret);
    if (!target) throw SignalErrors.unknownWebhook();
    row.webhook_id = target.webhook_id;
    row.bot_id = target.bot_id;
    if (!allowed) throw SignalErrors.ipNotAllowed();
    // Webhook first: a flood refused by one webhook's own limit does not use up its owner's other webhooks.
    await this.limit('webhook', target.webhook_id, target.rate_limit_per_minute);
    await this.limit('user', target.user_id, this.webhookConfig.WEBHOOK_RATE_LIMIT_PER_USER);

    const text = input.body === null ? '' : input.body.toString('utf8');
    const signal = parseTradingViewSignal(text);
    if (signal.secret !== null && !constantTimeEqual(signal.secret, input.secret)) throw SignalErrors.secretMismatch();
    this.checkFreshness(signal, target, now);

    if (!target.user_active) throw SignalErrors.userInactive();
    if (target.status !== 'running') throw SignalErrors.botStopped(target.stop_reason);
    const live = target.mode === 'live';
    const ent = this.entitlementOf(target, now);
    if (!ent) throw EntitlementErrors.noActiveSubscription('custom_bot');
    checkBotLimits(ent, { usage: { bots: target.other_running, symbols: target.other_symbols }, symbol: target.symbol, live });
    if (!target.exchange_connected) throw BotErrors.exchangeNotConnected();

    const market = await this.resolveMarket(signal, target);
    const type = signal.orderType ?? target.order_type;
    if (type === 'limit' && signal.price === null) throw SignalErrors.priceRequired();
    // The intent only: a close, a percent or a target is sized by the executor when it sends.
    const size = orderSizeOf(signal.intent, signal.quantity, signal.targetPosition, target);

    const claim: DedupeClaim = {
      webhookId: target.webhook_id,
      botId: target.bot_id,
      secretHash: sha256Hex(input.secret),
      ...repeatKey(signal.alertId, text, now, this.webhookConfig.WEBHOOK_DEDUPE_WINDOW_SECONDS),
      now,
    };
    const accepted: WebhookEventRow = { ...row, outcome: 'accepted', status_code: 202 };
    const order: NewOrder = {
      user_id: target.user_id,
      bot_id: target.bot_id,
      source: 'webhook',
      source_ref: row.id,
      mode: target.mode,
      exchange: target.exchange,
      symbol: market.symbol,
      type,
      ...size,
      signal_at: signal.timestamp ?? now,
      price: signal.price?.toFixed() ?? null,
    };
    // Claim, order and event row in one statement, atomic on its own.
    const orderId = await this.orderIdFrom(this.ds.manager, acceptStatement(order, accepted, claim));
    if (orderId !== null) return { status: 'accepted', order_id: orderId };
    // Nothing was written: the gate closed since the lookup (a stop or rotation committed), or a duplicate.
    await this.assertGateOpen(claim);
    // A duplicate: its own row, pointing at the first order, is written.
    const first = await this.orderIdFrom(this.ds.manager, duplicateStatement({ ...row, outcome: 'duplicate', status_code: 200 }, claim.webhookId, claim.key));
    if (first === null) throw new Error('Dedupe key taken but its first event is missing');
    return { status: 'duplicate', order_id: first };
  }

  /** Why the gate refused, as the lookup would have said it had it run after the change. */
  private async assertGateOpen(claim: DedupeClaim): Promise<void> {
    const rows = (await this.ds.query(
      `SELECT b.status, b.stop_reason, (w.is_active AND w.secret_hash = $3 AND b.deleted_at IS NULL) AS hook_ok
         FROM bot_webhooks w JOIN bots b ON b.id = w.bot_id
        WHERE w.id = $1 AND b.id = $2`,
      [claim.webhookId, claim.botId, claim.secretHash],
    )) as Array<{ status: string; stop_reason: string | null; hook_ok: boolean }>;
    const gate = rows[0];
    if (!gate?.hook_ok) throw SignalErrors.unknownWebhook();
    if (gate.status !== 'running') throw SignalErrors.botStopped(gate.stop_reason);
  }

  private newRow(input: ReceiveInput): WebhookEventRow {
    return {
      id: randomUUID(),
      webhook_id: null,
      bot_id: null,
      received_at: input.receivedAt ?? new Date(),
      ip: input.ip ? normalizeIp(input.ip).slice(0, 64) : null,
      outcome: 'rejected',
      status_code: 0,
      reason: null,
      message: null,
      order_id: null,
      body: bodyForLog(input.body, input.secret),
      body_bytes: input.body?.length ?? null,
    };
  }

  private async findTarget(secret: string): Promise<WebhookTarget | null> {
    // A secret is 43 base64url characters; anything else cannot match, so skip the query.
    if (!looksLikeWebhookSecret(secret)) return null;
    const rows = (await this.ds.query(TARGET_SQL, [sha256Hex(secret), CURRENT_STATUSES])) as WebhookTarget[];
    return rows[0] ?? null;
  }

  /** Counts one request against a per-minute limit (Redis when REDIS_URL is set, so shared by replicas). */
  private async limit(scope: RateLimitScope, id: string, perMinute: number): Promise<void> {
    if (perMinute <= 0) return;
    const r = await this.throttle.increment(`${scope}:${id}`, MINUTE_MS, perMinute, MINUTE_MS, `webhook_${scope}`);
    if (r.isBlocked || r.totalHits > perMinute) {
      throw SignalErrors.rateLimited(scope, Math.max(1, r.isBlocked ? r.timeToBlockExpire : r.timeToExpire));
    }
  }

  private checkFreshness(signal: TradingViewSignal, target: WebhookTarget, now: Date): void {
    if (signal.timestamp === null) return;
    const lagMs = now.getTime() - signal.timestamp.getTime();
    if (lagMs > target.max_lag_seconds * 1000) throw SignalErrors.stale(Math.floor(lagMs / 1000), target.max_lag_seconds);
    if (lagMs < -MAX_FUTURE_SKEW_MS) {
      throw SignalErrors.invalidSignal([{ field: 'timestamp', message: 'is in the future; check the sender clock' }]);
    }
  }

  private async resolveMarket(signal: TradingViewSignal, target: WebhookTarget): Promise<Market> {
    const index = await this.markets.forExchange(target.exchange).catch(() => {
      throw SignalErrors.marketsUnavailable();
    });
    const market = resolveMarket(index, signal.ticker);
    if (!market) throw SignalErrors.unknownSymbol(signal.ticker);
    if (market.symbol !== target.symbol) throw SignalErrors.symbolMismatch(market.symbol, target.symbol);
    return market;
  }

  private async run(m: EntityManager, statement: Statement): Promise<Array<Record<string, unknown>>> {
    return (await m.query(statement.sql, statement.params)) as Array<Record<string, unknown>>;
  }

  /** The order id an accept or duplicate statement returned; null when it wrote nothing. */
  private async orderIdFrom(m: EntityManager, statement: Statement): Promise<string | null> {
    const [first] = await this.run(m, statement);
    return first === undefined ? null : (first.order_id as string);
  }

  /**
   * The entitlement from the lookup's subscription columns, exactly as EntitlementsService.find
   * builds it (null: no subscription that grants access now).
   */
  private entitlementOf(t: WebhookTarget, now: Date): Entitlement | null {
    if (t.sub_id === null || t.sub_status === null || t.plan_id === null || t.plan_code === null || t.live_trading === null) return null;
    const sub = {
      status: t.sub_status,
      end_date: t.sub_end_date,
      auto_renew: t.sub_auto_renew ?? false,
      cancel_at_period_end: t.sub_cancel_at_period_end ?? false,
      payment_method: t.sub_payment_method ?? 'none',
      stripe_subscription_id: t.sub_stripe_subscription_id,
    };
    if (!grantsAccess(sub, now, this.billing.graceMs)) return null;
    return {
      subscription_id: t.sub_id,
      plan_id: t.plan_id,
      plan_code: t.plan_code,
      plan_type: 'custom_bot',
      status: t.sub_status,
      end_date: t.sub_end_date,
      max_bots: t.max_bots,
      max_trading_pairs: t.max_trading_pairs,
      live_trading: t.live_trading,
      profit_share_percentage: t.profit_share_percentage,
    };
  }
}
