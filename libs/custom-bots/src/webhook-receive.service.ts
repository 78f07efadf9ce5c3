import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { AppConfig, constantTimeEqual, DomainError, isDatabaseUnavailable } from '@torgovo/core';
import { BillingConfig, checkBotLimits, Entitlement, EntitlementErrors, grantsAccess } from '@torgovo/subscriptions';
import { Market, NewOrder } from '@torgovo/trading';
import { BotErrors, RateLimitScope, SignalErrors } from './errors';
import { MarketCatalog } from './market-catalog.service';
import { resolveMarket } from './market-symbols';
import { orderSizeOf } from './signal-sizing';
import { AcceptItem, DedupeClaim, duplicateStatement } from './webhook-accept-statements';
import { WebhookIntake } from './webhook-intake';
import { rowVersionsOf, WebhookTarget, WebhookTargets } from './webhook-targets';
import { parseTradingViewSignal, TradingViewSignal } from './tradingview-signal';
import { IpAllowlist, isTradingViewSender, normalizeIp, WebhookConfig } from './webhook-config';
import { bodyForLog, WebhookEventLog, WebhookEventRow } from './webhook-event-log';
import { RepeatKey, repeatKey } from './webhook-repeat';

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

const MINUTE_MS = 60_000;
/** Clocks differ; an alert stamped further ahead than this is refused rather than trusted. */
const MAX_FUTURE_SKEW_MS = 60_000;

/**
 * POST /custom-bot/webhook/receive/{secret}: TradingView alert → one pending order.
 * Every request leaves exactly one webhook_events row: an accepted row commits in the same
 * statement as its dedupe claim and order (which records the intent: sizes that depend on the bot's
 * position or the balance are resolved by the executor when it sends); a duplicate's row is written with the
 * first order's id once its claim wrote nothing; a rejection writes only its row.
 * Round trips per accepted alert: at most 2 (the lookup, cached for WEBHOOK_LOOKUP_CACHE_MS, and the
 * write), each shared with the alerts that arrive together (WebhookTargets, WebhookIntake); a duplicate: one more.
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
    private readonly targets: WebhookTargets,
    private readonly intake: WebhookIntake,
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
    const target = await this.targets.find(secret).catch(() => null);
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

    let target = await this.targets.find(input.secret);
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

    // The webhook was found by this secret's hash (WebhookTargets): that value, not hashed again per alert.
    const secretHash = target.secret_hash;
    const repeat = repeatKey(signal.alertId, text, now, this.webhookConfig.WEBHOOK_DEDUPE_WINDOW_SECONDS);
    // The target may come from the cache. A refusal is never answered from it: the lookup is done
    // again first. An acceptance is checked by the write itself (acceptStatement's gate): closed,
    // the lookup was stale (a stop, rotation or deactivation committed since), so it is done again and
    // answered as it then says. At most one fresh look: a second change in that instant is not chased.
    let fresh = false;
    for (;;) {
      let item: AcceptItem;
      try {
        item = await this.acceptItem(signal, target, row, secretHash, repeat, now);
      } catch (err) {
        if (fresh || !(err instanceof DomainError)) throw err;
        target = await this.lookAgain(input.secret, row);
        fresh = true;
        continue;
      }
      const outcome = await this.intake.accept(item);
      if (outcome.kind === 'accepted') return { status: 'accepted', order_id: outcome.orderId };
      if (outcome.kind === 'taken') return this.duplicate(row, item.claim);
      if (fresh) throw SignalErrors.botStopped(target.stop_reason ?? 'changed while the alert was received');
      target = await this.lookAgain(input.secret, row);
      fresh = true;
    }
  }

  /** The lookup again, bypassing the cache; the event row follows what it finds. */
  private async lookAgain(secret: string, row: WebhookEventRow): Promise<WebhookTarget> {
    this.targets.forget(secret);
    const target = await this.targets.find(secret, true);
    row.webhook_id = target?.webhook_id ?? null;
    row.bot_id = target?.bot_id ?? null;
    if (!target) throw SignalErrors.unknownWebhook();
    return target;
  }

  /** The checks of API.md on the (possibly cached) target, then the order to write; throws the refusal. */
  private async acceptItem(signal: TradingViewSignal, target: WebhookTarget, row: WebhookEventRow, secretHash: string, repeat: RepeatKey, now: Date): Promise<AcceptItem> {
    this.checkFreshness(signal, target, now);
    if (!target.user_active) throw SignalErrors.userInactive();
    if (target.status !== 'running') throw SignalErrors.botStopped(target.stop_reason);
    const live = target.mode === 'live';
    const ent = this.entitlementOf(target, now);
    if (!ent) throw EntitlementErrors.noActiveSubscription('custom_bot');
    checkBotLimits(ent, { usage: { bots: target.other_running, symbols: target.other_symbols }, symbol: target.symbol, live });
    if (!target.exchange_connected) throw BotErrors.exchangeNotConnected();
    const versions = rowVersionsOf(target);
    if (!versions) throw EntitlementErrors.noActiveSubscription('custom_bot');

    const market = await this.resolveMarket(signal, target);
    const type = signal.orderType ?? target.order_type;
    if (type === 'limit' && signal.price === null) throw SignalErrors.priceRequired();
    // The intent only: a close, a percent or a target is sized by the executor when it sends.
    const size = orderSizeOf(signal.intent, signal.quantity, signal.targetPosition, target);
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
    return {
      order,
      event: { ...row, outcome: 'accepted', status_code: 202 },
      claim: { webhookId: target.webhook_id, botId: target.bot_id, secretHash, ...repeat },
      versions,
    };
  }

  /** A repeat: its own row, pointing at the first order (the claim waited for that one's commit). */
  private async duplicate(row: WebhookEventRow, claim: DedupeClaim): Promise<ReceiveResult> {
    const statement = duplicateStatement({ ...row, outcome: 'duplicate', status_code: 200 }, claim.webhookId, claim.key);
    const [first] = (await this.ds.query(statement.sql, statement.params)) as Array<{ order_id: string }>;
    if (first === undefined) throw new Error('Dedupe key taken but its first event is missing');
    return { status: 'duplicate', order_id: first.order_id };
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
