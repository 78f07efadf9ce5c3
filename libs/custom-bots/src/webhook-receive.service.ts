import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig, constantTimeEqual, Decimal, DomainError, sha256Hex } from '@torgovo/core';
import { checkBotLimits, EntitlementsService } from '@torgovo/subscriptions';
import { DEFAULT_PAPER_EXCHANGE_OPTIONS, Market, OrdersService } from '@torgovo/trading';
import type { BotMode, BotOrderType, BotStatus, SizingType } from './entities/bot.entity';
import { BotErrors, SignalErrors } from './errors';
import { MarketCatalog } from './market-catalog.service';
import { resolveMarket } from './market-symbols';
import { planSizing, resolveSizing, SizingPlan } from './signal-sizing';
import { parseTradingViewSignal, TradingViewSignal } from './tradingview-signal';
import { IpAllowlist, normalizeIp, WebhookConfig } from './webhook-config';
import { bodyForLog, WebhookEventLog, WebhookEventRow } from './webhook-event-log';

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
}

const TARGET_SQL = `
  SELECT w.id AS webhook_id, w.user_id, w.max_lag_seconds, w.rate_limit_per_minute,
         b.id AS bot_id, b.symbol, b.mode, b.exchange, b.order_type, b.sizing_type, b.sizing_value, b.status, b.stop_reason,
         u.is_active AS user_active,
         (b.mode = 'paper' OR EXISTS (SELECT 1 FROM exchange_credentials c WHERE c.user_id = w.user_id AND c.exchange = b.exchange)) AS exchange_connected,
         o.n AS other_running, o.symbols AS other_symbols
    FROM bot_webhooks w
    JOIN bots b ON b.id = w.bot_id AND b.deleted_at IS NULL
    JOIN users u ON u.id = w.user_id
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n, coalesce(array_agg(DISTINCT x.symbol), '{}') AS symbols
        FROM bots x
       WHERE x.user_id = w.user_id AND x.status = 'running' AND x.deleted_at IS NULL AND x.id <> b.id
    ) o
   WHERE w.secret_hash = $1 AND w.is_active`;

const MINUTE_MS = 60_000;
const DEDUPE_BODY_TTL_MS = 24 * 3600 * 1000;
/** Clocks differ; an alert stamped further ahead than this is refused rather than trusted. */
const MAX_FUTURE_SKEW_MS = 60_000;

/** Duplicate alerts leave the transaction through this, carrying the first order. */
class DuplicateSignal extends Error {
  constructor(readonly orderId: string) {
    super('duplicate');
  }
}

/**
 * POST /custom-bot/webhook/receive/{secret}: TradingView alert → one pending order.
 * Every request leaves exactly one webhook_events row: the accepted and duplicate rows commit
 * with the order (or the lookup of the first one); a rejection writes only its row.
 */
@Injectable()
export class WebhookReceiveService {
  private readonly logger = new Logger(WebhookReceiveService.name);
  private readonly allowlist: IpAllowlist;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @InjectThrottlerStorage() private readonly throttle: ThrottlerStorage,
    @Inject(WebhookConfig) private readonly webhookConfig: WebhookConfig,
    config: AppConfig,
    private readonly entitlements: EntitlementsService,
    private readonly orders: OrdersService,
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
      if (!e) this.logger.error({ err, event_id: row.id }, 'Webhook processing failed');
      await this.events.insertQuietly({
        ...row,
        outcome: 'rejected',
        status_code: e?.status ?? 500,
        reason: e?.code ?? 'internal_error',
        message: e?.message ?? 'Internal error',
      });
      throw err;
    }
  }

  /** For requests Fastify refused before the controller ran (body over the limit, aborted upload). */
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
    // TradingView sends every user's alerts from four addresses: allowlisted senders are limited per webhook only.
    if (!allowed || !this.allowlist.enabled) await this.limit(`ip:${ip}`, this.webhookConfig.WEBHOOK_RATE_LIMIT_PER_IP, 'ip');

    const target = await this.findTarget(input.secret);
    if (!target) throw SignalErrors.unknownWebhook();
    row.webhook_id = target.webhook_id;
    row.bot_id = target.bot_id;
    if (!allowed) throw SignalErrors.ipNotAllowed();
    await this.limit(`webhook:${target.webhook_id}`, target.rate_limit_per_minute, 'webhook');

    const text = input.body === null ? '' : input.body.toString('utf8');
    const signal = parseTradingViewSignal(text);
    if (signal.secret !== null && !constantTimeEqual(signal.secret, input.secret)) throw SignalErrors.secretMismatch();
    this.checkFreshness(signal, target, now);

    if (!target.user_active) throw SignalErrors.userInactive();
    if (target.status !== 'running') throw SignalErrors.botStopped(target.stop_reason);
    const live = target.mode === 'live';
    const ent = await this.entitlements.require(target.user_id, 'custom_bot', { live }, now);
    checkBotLimits(ent, { usage: { bots: target.other_running, symbols: target.other_symbols }, symbol: target.symbol, live });
    if (!target.exchange_connected) throw BotErrors.exchangeNotConnected();

    const market = await this.resolveMarket(signal, target);
    const type = signal.orderType ?? target.order_type;
    if (type === 'limit' && signal.price === null) throw SignalErrors.priceRequired();
    const plan = planSizing(signal.intent, signal.quantity, target);
    // A live balance needs the user's keys, which only the worker decrypts.
    if (plan.kind === 'balance' && live) throw SignalErrors.percentUnavailable();

    const dedupeKey = signal.alertId !== null ? `a:${sha256Hex(signal.alertId)}` : `b:${sha256Hex(text)}`;
    const expiresAt = signal.alertId !== null ? null : new Date(now.getTime() + DEDUPE_BODY_TTL_MS);
    try {
      return await this.ds.transaction(async (m) => {
        const claimed = await this.claimDedupe(m, target.webhook_id, dedupeKey, row.id, expiresAt, now);
        if (!claimed) throw new DuplicateSignal(await this.firstOrderId(m, target.webhook_id, dedupeKey));
        const available = await this.available(m, plan, target, market);
        const size = resolveSizing(plan, available, market.quote);
        const { order } = await this.orders.createPending(m, {
          user_id: target.user_id,
          bot_id: target.bot_id,
          source: 'webhook',
          source_ref: row.id,
          mode: target.mode,
          exchange: target.exchange,
          symbol: market.symbol,
          side: signal.intent === 'buy' ? 'buy' : 'sell',
          type,
          ...size,
          price: signal.price?.toFixed() ?? null,
        });
        await this.events.insert({ ...row, outcome: 'accepted', status_code: 202, order_id: order.id }, m);
        return { status: 'accepted' as const, order_id: order.id };
      });
    } catch (err) {
      if (!(err instanceof DuplicateSignal)) throw err;
      // The claim (and anything else) rolled back; the duplicate's own row is all that is written.
      await this.events.insert({ ...row, outcome: 'duplicate', status_code: 200, order_id: err.orderId });
      return { status: 'duplicate', order_id: err.orderId };
    }
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
      body: bodyForLog(input.body),
      body_bytes: input.body?.length ?? null,
    };
  }

  private async findTarget(secret: string): Promise<WebhookTarget | null> {
    // A secret is 43 base64url characters; anything else cannot match, so skip the query.
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(secret)) return null;
    const rows = (await this.ds.query(TARGET_SQL, [sha256Hex(secret)])) as WebhookTarget[];
    return rows[0] ?? null;
  }

  private async limit(key: string, perMinute: number, scope: 'ip' | 'webhook'): Promise<void> {
    if (perMinute <= 0) return;
    const r = await this.throttle.increment(key, MINUTE_MS, perMinute, MINUTE_MS, `webhook_${scope}`);
    if (r.isBlocked || r.totalHits > perMinute) throw SignalErrors.rateLimited(scope);
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
   * Claims the alert's dedupe key. A concurrent copy blocks on the unique key until the first
   * commits, then finds it taken. An expired body key (older than 24 h) is taken over.
   */
  private async claimDedupe(m: EntityManager, webhookId: string, key: string, eventId: string, expiresAt: Date | null, now: Date): Promise<boolean> {
    const rows = (await m.query(
      `INSERT INTO webhook_dedupe (webhook_id, dedupe_key, event_id, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (webhook_id, dedupe_key) DO UPDATE SET event_id = EXCLUDED.event_id, expires_at = EXCLUDED.expires_at
        WHERE webhook_dedupe.expires_at IS NOT NULL AND webhook_dedupe.expires_at <= $5
       RETURNING event_id`,
      [webhookId, key, eventId, expiresAt, now],
    )) as Array<{ event_id: string }>;
    return rows.length === 1;
  }

  private async firstOrderId(m: EntityManager, webhookId: string, key: string): Promise<string> {
    const rows = (await m.query(
      `SELECT e.order_id FROM webhook_dedupe d JOIN webhook_events e ON e.id = d.event_id
        WHERE d.webhook_id = $1 AND d.dedupe_key = $2`,
      [webhookId, key],
    )) as Array<{ order_id: string }>;
    return rows[0].order_id;
  }

  /** The position or balance a fraction-sized order needs; null when the plan needs neither. */
  private async available(m: EntityManager, plan: SizingPlan, target: WebhookTarget, market: Market): Promise<Decimal | null> {
    if (plan.kind === 'position') {
      // Sells of one bot are serialized so two closes cannot both sell the same position.
      await m.query('SELECT 1 FROM bots WHERE id = $1 FOR UPDATE', [target.bot_id]);
      return this.position(m, target.bot_id, market.base);
    }
    if (plan.kind === 'balance') return this.paperQuoteBalance(m, target.user_id, market.quote);
    return null;
  }

  /**
   * Net base the bot holds: filled buys (less fees paid in base) minus filled sells, minus
   * what its unfilled sells will still take.
   */
  private async position(m: EntityManager, botId: string, base: string): Promise<Decimal> {
    const [row] = (await m.query(
      `SELECT coalesce(sum(
                CASE WHEN side = 'buy' THEN filled - CASE WHEN fee_currency = $2 THEN coalesce(fee, 0) ELSE 0 END
                     WHEN status IN ('pending', 'submitting', 'open') THEN -greatest(coalesce(amount, 0), filled)
                     ELSE -filled END), 0)::text AS position
         FROM orders WHERE bot_id = $1`,
      [botId, base],
    )) as Array<{ position: string }>;
    return new Decimal(row.position);
  }

  /** A paper account that was never used holds the starting balance. */
  private async paperQuoteBalance(m: EntityManager, userId: string, currency: string): Promise<Decimal> {
    const [row] = (await m.query(
      `SELECT (SELECT free::text FROM paper_balances WHERE user_id = $1 AND currency = $2) AS free,
              EXISTS (SELECT 1 FROM paper_accounts WHERE user_id = $1) AS has_account`,
      [userId, currency],
    )) as Array<{ free: string | null; has_account: boolean }>;
    if (row.has_account) return new Decimal(row.free ?? '0');
    return new Decimal(DEFAULT_PAPER_EXCHANGE_OPTIONS.initialBalances[currency] ?? '0');
  }
}
