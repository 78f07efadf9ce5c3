import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, AuditService, Decimal, randomToken, sha256Hex, toDecimalString } from '@torgovo/core';
import { OrderSendFence } from '@torgovo/trading';
import { lockActingAdmin } from '@torgovo/users';
import {
  AvailableManagedBotResponse,
  CreateManagedBotDto,
  ManagedBotResponse,
  ManagedBotWebhookResponse,
  toManagedBotResponse,
  UpdateManagedBotDto,
} from './dto/managed-bot.dto';
import { ManagedBot } from './entities/managed-bot.entity';
import { AdminActor, auditedBy } from './admin-actor';
import { ManagedBotErrors } from './errors';
import { normalizeSymbol } from './symbols';
import { lockWebhookIssuer } from './webhook-issuer';

export const MANAGED_WEBHOOK_PATH = '/api/managed-bot/webhook/receive/';

function symbolsOf(raw: string[]): string[] {
  const out: string[] = [];
  for (const s of raw) {
    const n = normalizeSymbol(s);
    if (!n) throw ManagedBotErrors.badAlert(`${s} is not a symbol such as BTC/USDT`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Admin CRUD of managed bots, the admin webhook secret, and the public list with its track record. */
@Injectable()
export class ManagedBotsService {
  private readonly logger = new Logger(ManagedBotsService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly sends: OrderSendFence,
  ) {}

  async create(admin: AdminActor, dto: CreateManagedBotDto): Promise<ManagedBotResponse> {
    const repo = this.ds.getRepository(ManagedBot);
    const bot = repo.create({
        name: dto.name,
        description: dto.description ?? '',
        exchange: dto.exchange ?? 'okx',
        symbols: symbolsOf(dto.symbols),
        strategy: dto.strategy ?? '',
        min_investment: dto.min_investment ?? '10',
        max_investment: dto.max_investment ?? null,
        created_by: admin.actorId,
    });
    this.checkRange(bot);
    const saved = await this.ds.transaction(async (m) => {
      await lockActingAdmin(m, admin.actorId);
      const row = await m.getRepository(ManagedBot).save(bot);
      await this.audit.record({ event_type: 'managed_bot.created', user_id: null, ...auditedBy(admin), data: { managed_bot_id: row.id, name: row.name } }, m);
      return row;
    });
    return toManagedBotResponse(saved);
  }

  async update(admin: AdminActor, id: string, dto: UpdateManagedBotDto): Promise<ManagedBotResponse> {
    const saved = await this.ds.transaction(async (m) => {
      await lockActingAdmin(m, admin.actorId);
      // Locked FOR UPDATE: a pause waits for placement decisions in flight (they share-lock the row).
      const bot = await m.getRepository(ManagedBot).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!bot) throw ManagedBotErrors.notFound();
      const wasPaused = bot.status === 'paused';
      if (dto.name !== undefined) bot.name = dto.name;
      if (dto.description !== undefined) bot.description = dto.description;
      if (dto.symbols !== undefined) bot.symbols = symbolsOf(dto.symbols);
      if (dto.strategy !== undefined) bot.strategy = dto.strategy;
      if (dto.status !== undefined) bot.status = dto.status;
      if (dto.min_investment !== undefined) bot.min_investment = dto.min_investment;
      if (dto.max_investment !== undefined) bot.max_investment = dto.max_investment;
      this.checkRange(bot);
      const resumed = wasPaused && bot.status === 'active';
      const saved = await m.save(bot);
      // resumed_at: the follower orders fanned out before this resume (and so before the pause) are canceled at their turn.
      if (resumed) {
        const [[row]] = (await m.query(`UPDATE managed_bots SET resumed_at = now() WHERE id = $1 RETURNING resumed_at`, [id])) as [Array<{ resumed_at: Date }>, number];
        saved.resumed_at = row.resumed_at;
      }
      await this.audit.record({ event_type: 'managed_bot.updated', user_id: null, ...auditedBy(admin), data: { managed_bot_id: id, changes: Object.keys(dto) } }, m);
      return saved;
    });
    // "Paused" is answered once no follower order decided before the pause committed can still reach the exchange.
    if (saved.status === 'paused') await this.sends.managedBotSettled(id);
    return toManagedBotResponse(saved);
  }

  /**
   * A new secret for the bot's TradingView alerts (the old one stops working); shown only here. The
   * secret trades every follower: handed out only to an admin who still is one as it is written
   * (lockActingAdmin), with its audit row in the same transaction. It keeps trading only while that
   * admin still is one (webhook_issued_by, checked at each fan-out: lockWebhookIssuer).
   */
  async rotateWebhook(admin: AdminActor, id: string): Promise<ManagedBotWebhookResponse> {
    const secret = randomToken(32);
    await this.ds.transaction(async (m) => {
      await lockActingAdmin(m, admin.actorId);
      const [, n] = (await m.query(`UPDATE managed_bots SET webhook_secret_hash = $2, webhook_issued_by = $3, updated_at = now() WHERE id = $1`, [
        id,
        sha256Hex(secret),
        admin.actorId,
      ])) as [unknown, number];
      if (n === 0) throw ManagedBotErrors.notFound();
      await this.audit.record({ event_type: 'managed_bot.webhook_rotated', user_id: null, ...auditedBy(admin), data: { managed_bot_id: id } }, m);
    });
    return { managed_bot_id: id, webhook_url: `${this.config.publicUrl}${MANAGED_WEBHOOK_PATH}${secret}`, webhook_secret: secret };
  }

  /**
   * The bot a webhook secret belongs to, for an early answer; null: unknown, or issued by someone who
   * is no longer an admin (the same 404; the reason is logged, never the secret). The fan-out checks
   * the issuer again, at the moment of its effect.
   */
  async webhookForSecret(secret: string): Promise<{ managedBotId: string; secretHash: string } | null> {
    const secretHash = sha256Hex(secret);
    const gate = await lockWebhookIssuer(this.ds.manager, secretHash);
    if (gate.ok) return { managedBotId: gate.managedBotId, secretHash };
    if (gate.reason !== 'unknown_secret') {
      this.logger.warn({ managed_bot_id: gate.managedBotId, issued_by: gate.issuedBy, reason: gate.reason }, 'Managed webhook refused: 404 as an unknown secret');
    }
    return null;
  }

  async get(id: string): Promise<ManagedBotResponse> {
    const bot = await this.ds.getRepository(ManagedBot).findOne({ where: { id } });
    if (!bot) throw ManagedBotErrors.notFound();
    return toManagedBotResponse(bot);
  }

  /**
   * Every managed bot with its track record, in one statement: the followers' recomputed
   * performance (FIFO engine) summed per bot — returns against what followers invested, win rate
   * over their closing trades, the worst follower drawdown against their investment.
   */
  async available(): Promise<AvailableManagedBotResponse[]> {
    const rows = (await this.ds.query(
      `SELECT b.id, b.name, b.description, b.exchange, b.symbols, b.strategy, b.status, b.min_investment::text, b.max_investment::text,
              coalesce(s.followers, 0)::int AS followers,
              CASE WHEN s.active_investment > 0 THEN round(s.realised_30d / s.active_investment * 100, 4)::text END AS return_30d,
              CASE WHEN s.investment > 0 THEN round(s.net_pnl / s.investment * 100, 4)::text END AS return_total,
              CASE WHEN s.trades > 0 THEN round(s.wins::numeric / s.trades, 4)::text END AS win_rate,
              round(s.max_drawdown_pct, 4)::text AS max_drawdown
         FROM managed_bots b
         LEFT JOIN (
           SELECT managed_bot_id,
                  count(*) FILTER (WHERE status = 'active') AS followers,
                  sum(investment) AS investment, sum(investment) FILTER (WHERE status = 'active') AS active_investment,
                  sum(net_pnl) AS net_pnl, sum(realised_30d) FILTER (WHERE status = 'active') AS realised_30d,
                  sum(trades) AS trades, sum(wins) AS wins,
                  max(max_drawdown / nullif(investment, 0) * 100) AS max_drawdown_pct
             FROM managed_bot_follows GROUP BY managed_bot_id
         ) s ON s.managed_bot_id = b.id
        ORDER BY b.status, b.created_at`,
    )) as Array<Record<string, string | number | string[] | null>>;
    return rows.map((r) => ({
      id: r.id as string,
      name: r.name as string,
      description: r.description as string,
      exchange: r.exchange as string,
      symbols: r.symbols as string[],
      strategy: r.strategy as string,
      status: r.status as 'active' | 'paused',
      min_investment: toDecimalString(r.min_investment as string),
      max_investment: r.max_investment === null ? null : toDecimalString(r.max_investment as string),
      stats: {
        return_30d: r.return_30d === null ? null : toDecimalString(r.return_30d as string),
        return_total: r.return_total === null ? null : toDecimalString(r.return_total as string),
        max_drawdown: r.max_drawdown === null ? null : toDecimalString(r.max_drawdown as string),
        followers: r.followers as number,
        win_rate: r.win_rate === null ? null : toDecimalString(r.win_rate as string),
      },
    }));
  }

  private checkRange(bot: ManagedBot): void {
    if (bot.max_investment !== null && new Decimal(bot.max_investment).lt(bot.min_investment)) {
      throw ManagedBotErrors.investmentOutOfRange('max_investment must be at least min_investment');
    }
  }
}
