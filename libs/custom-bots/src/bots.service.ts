import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { Decimal, page, Page, PageQuery } from '@torgovo/core';
import { EntitlementsService } from '@torgovo/subscriptions';
import { OrderSendFence } from '@torgovo/trading';
import { parsePositiveDecimal } from './decimal-input';
import { OrdersService, PaperBalances, readBotPosition, resetBotPosition } from '@torgovo/trading';
import { BotCounters, CreateBotDto, NO_COUNTERS } from './dto/create-bot.dto';
import type { UpdateBotDto } from './dto/update-bot.dto';
import { Bot, BotMode, SizingType } from './entities/bot.entity';
import { BotErrors } from './errors';
import { MarketCatalog } from './market-catalog.service';
import { resolveMarket } from './market-symbols';

/** First key of the two-key advisory lock space for "this user's set of bots". */
const USER_BOTS_LOCK = 7_204_600;

export interface BotWithCounters {
  bot: Bot;
  counters: BotCounters;
}

/** Serializes limit checks and inserts of one user's bots for the rest of the transaction. */
export async function lockUserBots(m: EntityManager, userId: string): Promise<void> {
  await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [USER_BOTS_LOCK, userId]);
}

/** lockUserBots for many users in one statement, in one order (the subscription-end listener's batch). */
export async function lockManyUsersBots(m: EntityManager, userIds: readonly string[]): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock($1, hashtext(u)) FROM (SELECT DISTINCT u FROM unnest($2::text[]) AS u ORDER BY u) s`, [USER_BOTS_LOCK, [...userIds]]);
}

/**
 * What a bot is made or started under, locked for the rest of the transaction, in the order the
 * changes that stop bots take their locks: the user's row share-locked (a deactivation or erasure,
 * which locks it first, waits for this start, then stops the bot; or this start waits and sees the
 * account inactive), then the user's bots (a subscription's end takes that lock in its listener).
 */
async function lockForRunning(m: EntityManager, userId: string): Promise<void> {
  const [user] = (await m.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean }>;
  if (!user?.is_active) throw BotErrors.accountInactive();
  await lockUserBots(m, userId);
}

/** "BTC-USDT", "BTCUSDT", "okx:btc/usdt" name BTC/USDT: compared without separators and prefix. */
function sameMarket(input: string, symbol: string): boolean {
  const compact = (v: string) => v.replace(/^[A-Za-z]+:/, '').replace(/[-/_]/g, '').toUpperCase();
  return compact(input) === compact(symbol);
}

@Injectable()
export class BotsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly entitlements: EntitlementsService,
    private readonly markets: MarketCatalog,
    private readonly orders: OrdersService,
    private readonly sends: OrderSendFence,
    private readonly paper: PaperBalances,
  ) {}

  async create(userId: string, dto: CreateBotDto): Promise<BotWithCounters> {
    const live = dto.mode === 'live';
    const sizingValue = this.validateSizing(dto.sizing.type, dto.sizing.value);
    // Cheap refusals first (and before any network call for the market list).
    await this.entitlements.require(userId, 'custom_bot', { live });
    const exchange = live ? await this.connectedExchange(this.ds.manager, userId) : 'paper';
    const symbol = await this.normalizeSymbol(dto.symbol, exchange);

    const bot = await this.ds.transaction(async (m) => {
      await lockForRunning(m, userId);
      // The keys share-locked: a disconnect waits for this bot, then stops it with the others.
      if (live && (await this.connectedExchange(m, userId, true)) !== exchange) throw BotErrors.exchangeNotConnected();
      const usage = await this.usage(m, userId, { allBots: true });
      await this.entitlements.assertCanRunBot(userId, 'custom_bot', { usage, symbol, live }, undefined, m);
      const repo = m.getRepository(Bot);
      // A paper bot's account is there before its first alert (not opened by that alert's fill).
      if (!live) await this.paper.open(m, userId, symbol.split('/'));
      return repo.save(
        repo.create({
          user_id: userId,
          name: dto.name.trim(),
          symbol,
          mode: dto.mode,
          exchange,
          order_type: dto.order_type,
          sizing_type: dto.sizing.type,
          sizing_value: sizingValue,
          allow_selling_beyond_position: dto.allow_selling_beyond_position ?? false,
          status: 'running',
          stop_reason: null,
          deleted_at: null,
        }),
      );
    });
    return { bot, counters: NO_COUNTERS };
  }

  async list(userId: string, q: PageQuery): Promise<Page<BotWithCounters>> {
    const [bots, total] = await this.ds.getRepository(Bot).findAndCount({
      where: { user_id: userId, deleted_at: IsNull() },
      order: { created_at: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    const counters = await this.counters(bots.map((b) => b.id));
    return page(
      bots.map((bot) => ({ bot, counters: counters.get(bot.id) ?? NO_COUNTERS })),
      total,
      q,
    );
  }

  /** Bots by id (deleted ones too), any owner, with counters: for the live-updates feed. */
  async findByIds(ids: string[]): Promise<BotWithCounters[]> {
    if (ids.length === 0) return [];
    const bots = await this.ds.getRepository(Bot).findBy({ id: In(ids) });
    const counters = await this.counters(bots.map((b) => b.id));
    return bots.map((bot) => ({ bot, counters: counters.get(bot.id) ?? NO_COUNTERS }));
  }

  async get(userId: string, id: string): Promise<BotWithCounters> {
    const bot = await this.find(this.ds.manager, userId, id);
    return { bot, counters: (await this.counters([id])).get(id) ?? NO_COUNTERS };
  }

  async start(userId: string, id: string): Promise<BotWithCounters> {
    await this.ds.transaction(async (m) => {
      await lockForRunning(m, userId);
      const bot = await this.find(m, userId, id, true);
      if (bot.status === 'running') return;
      const live = bot.mode === 'live';
      if (live) {
        // Share-locked: a disconnect waits for this start, then stops the bot with the others.
        const exchange = await this.connectedExchange(m, userId, true);
        if (exchange !== bot.exchange) throw BotErrors.exchangeNotConnected();
      }
      await this.assertMayRun(m, userId, bot);
      // started_at: the orders accepted before this start (and so before the stop) are canceled at their turn.
      await m.update(Bot, { id: bot.id }, { status: 'running', stop_reason: null, started_at: () => 'now()' });
      if (!live) await this.paper.open(m, userId, bot.symbol.split('/'));
    });
    return this.get(userId, id);
  }

  async stop(userId: string, id: string): Promise<BotWithCounters> {
    const bot = await this.find(this.ds.manager, userId, id);
    if (bot.status === 'running') {
      await this.ds.getRepository(Bot).update({ id: bot.id, status: 'running' }, { status: 'stopped', stop_reason: 'user' });
    }
    // "Stopped" is answered only once no order of the bot decided before the stop committed can
    // still reach the exchange (the send follows its decision's commit; OrderSendFence).
    await this.sends.settled({ user_id: userId, bot_id: bot.id });
    return this.get(userId, id);
  }

  /**
   * PATCH /bots/{id}. Name, sizing, order type and allow_selling_beyond_position change any time:
   * an alert reads them when it arrives, so orders accepted before the change keep the sizing they
   * were accepted with, later alerts get the new one. Symbol and mode change only while the bot is
   * stopped — checked under the user's bots lock and the bot's row lock, the locks start takes, so a
   * start either committed before (409 bot_running) or waits for this write — and only while it is
   * flat (no position, no unfinished order): its position is counted in its symbol and mode. They
   * are validated as on creation (market, plan limits counted as if the bot were created anew, live
   * trading, connected exchange). The webhook (URL and secret) is kept.
   */
  async update(userId: string, id: string, dto: UpdateBotDto): Promise<BotWithCounters> {
    const sizingValue = dto.sizing ? this.validateSizing(dto.sizing.type, dto.sizing.value) : undefined;
    const before = await this.find(this.ds.manager, userId, id);
    const placementChange = dto.symbol !== undefined || dto.mode !== undefined;
    let market: { mode: BotMode; exchange: string; symbol: string } | null = null;
    if (placementChange) {
      const mode = dto.mode ?? before.mode;
      // The fast answer first (checked again under the locks at the write): a running bot keeps its market.
      if (before.status === 'running' && (mode !== before.mode || (dto.symbol !== undefined && !sameMarket(dto.symbol, before.symbol)))) throw BotErrors.running();
      if (mode === 'live') await this.entitlements.require(userId, 'custom_bot', { live: true });
      const exchange = mode === 'live' ? await this.connectedExchange(this.ds.manager, userId) : 'paper';
      // Before the locks: the market list may need a network call.
      market = { mode, exchange, symbol: await this.normalizeSymbol(dto.symbol ?? before.symbol, exchange) };
    }
    const dust = market ? await this.dustOf(before) : new Decimal(0);
    await this.ds.transaction(async (m) => {
      // The user row, then the user's bots, then the bot: the order of start and create, and of an
      // erasure (the user row, its bots stopped, then the subscriptions' end takes the bots lock).
      await lockForRunning(m, userId);
      const bot = await this.find(m, userId, id, true);
      const changes: Partial<Bot> = {};
      if (dto.name !== undefined) changes.name = dto.name.trim();
      if (dto.order_type !== undefined) changes.order_type = dto.order_type;
      if (dto.sizing !== undefined) Object.assign(changes, { sizing_type: dto.sizing.type, sizing_value: sizingValue });
      if (dto.allow_selling_beyond_position !== undefined) changes.allow_selling_beyond_position = dto.allow_selling_beyond_position;
      if (market && (market.symbol !== bot.symbol || market.mode !== bot.mode || market.exchange !== bot.exchange)) {
        if (bot.status === 'running') throw BotErrors.running();
        await this.assertFlat(m, bot.id, dust);
        await resetBotPosition(m, bot.id);
        const live = market.mode === 'live';
        if (live && (await this.connectedExchange(m, userId)) !== market.exchange) throw BotErrors.exchangeNotConnected();
        // As on creation: this bot beside all the others (the limits count it as the one being added).
        const usage = await this.usage(m, userId, { allBots: true, excludeBotId: bot.id });
        await this.entitlements.assertCanRunBot(userId, 'custom_bot', { usage, symbol: market.symbol, live }, undefined, m);
        Object.assign(changes, market);
      }
      if (Object.keys(changes).length > 0) await m.update(Bot, { id: bot.id }, changes);
    });
    return this.get(userId, id);
  }

  /**
   * POST /bots/{id}/close: a pending close order (trading's OrdersService.createManualClose: sized
   * when sent, deduplicated while it waits). 422 no_position when the bot holds nothing now. It goes
   * through the placement rule like any order; a close the user asked for may run on a stopped bot.
   * The user row first (lockForRunning), as every bot write: the close's order insert share-locks it
   * (its foreign key), so taking the bot first deadlocked with a deactivation or an erasure, which
   * holds the user row and then stops the user's bots (one of the two answered 500). A close asked
   * as the account is deactivated is refused (401), as a start is.
   */
  async close(userId: string, id: string): Promise<{ order_id: string }> {
    return this.ds.transaction(async (m) => {
      await lockForRunning(m, userId);
      const bot = await this.find(m, userId, id, true);
      const position = await readBotPosition(m, bot.id);
      if (position.amount.lte(0)) throw BotErrors.noPosition();
      const { order } = await this.orders.createManualClose(m, { bot_id: bot.id, user_id: userId, mode: bot.mode, exchange: bot.exchange, symbol: bot.symbol });
      return { order_id: order.id };
    });
  }

  /**
   * Nothing of the bot on the market: no order pending, sent or open, and no position but dust
   * (less than the market's smallest order: no close could sell it, so it must not block the change).
   */
  private async assertFlat(m: EntityManager, botId: string, dust: Decimal): Promise<void> {
    const position = await readBotPosition(m, botId);
    if (position.amount.abs().gte(dust) && !position.amount.isZero()) throw BotErrors.notFlat(`a position of ${position.amount.toFixed()}`);
    const unfinished = await this.orders.unfinishedOfBot(m, botId);
    if (unfinished > 0) throw BotErrors.notFlat(`${unfinished} unfinished order(s)`);
  }

  /** The smallest amount an order on the bot's current market may have; 0 (strict) when the market list cannot be read. */
  private async dustOf(bot: Bot): Promise<Decimal> {
    const index = await this.markets.forExchange(bot.exchange).catch(() => null);
    const market = index ? resolveMarket(index, bot.symbol) : null;
    return market ? Decimal.max(market.minAmount ?? 0, market.amountPrecision) : new Decimal(0);
  }

  /** Stops the bot, deactivates its webhooks and hides it; its orders stay (and keep their bot_id). */
  async remove(userId: string, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const bot = await this.find(m, userId, id, true);
      await m.query(`UPDATE bots SET status = 'stopped', stop_reason = 'deleted', deleted_at = now(), updated_at = now() WHERE id = $1`, [bot.id]);
      await m.query(
        `UPDATE bot_webhooks SET is_active = false, deactivated_at = now() WHERE bot_id = $1 AND is_active`,
        [bot.id],
      );
    });
    await this.sends.settled({ user_id: userId, bot_id: id });
  }

  /**
   * The plan lets this bot run beside the user's other running bots (max_bots, max_trading_pairs,
   * live trading): checked at start and at webhook generation, as again at every alert.
   */
  async assertMayRun(m: EntityManager, userId: string, bot: Bot): Promise<void> {
    const usage = await this.usage(m, userId, { allBots: false, excludeBotId: bot.id });
    await this.entitlements.assertCanRunBot(userId, 'custom_bot', { usage, symbol: bot.symbol, live: bot.mode === 'live' }, undefined, m);
  }

  /** Another user's bot, or a deleted one, is a 404. */
  async find(m: EntityManager, userId: string, id: string, forUpdate = false): Promise<Bot> {
    const bot = await m.getRepository(Bot).findOne({
      where: { id, user_id: userId },
      ...(forUpdate ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!bot || bot.deleted_at !== null) throw BotErrors.notFound();
    return bot;
  }

  /** The user's connected exchange id, or 400 exchange_not_connected; `lock`: the key row share-locked for the transaction. */
  async connectedExchange(m: EntityManager, userId: string, lock = false): Promise<string> {
    const rows = (await m.query(`SELECT exchange FROM exchange_credentials WHERE user_id = $1 AND retired_at IS NULL${lock ? ' FOR SHARE' : ''}`, [userId])) as Array<{
      exchange: string;
    }>;
    if (rows.length === 0) throw BotErrors.exchangeNotConnected();
    return rows[0].exchange;
  }

  /**
   * What counts against the plan (see BotUsage in subscriptions): on creation every bot the
   * user has; on start the other running bots. Pairs are the distinct symbols of running bots.
   */
  private async usage(
    m: EntityManager,
    userId: string,
    opts: { allBots: boolean; excludeBotId?: string },
  ): Promise<{ bots: number; symbols: string[] }> {
    const [row] = (await m.query(
      `SELECT count(*) FILTER (WHERE $2 OR status = 'running')::int AS bots,
              coalesce(array_agg(DISTINCT symbol) FILTER (WHERE status = 'running'), '{}') AS symbols
         FROM bots
        WHERE user_id = $1 AND deleted_at IS NULL AND ($3::uuid IS NULL OR id <> $3)`,
      [userId, opts.allBots, opts.excludeBotId ?? null],
    )) as Array<{ bots: number; symbols: string[] }>;
    return row;
  }

  /**
   * Running totals kept by a trigger on the request log (migration BotSignalCountersRunning): one
   * primary-key row per bot, the same cost at 10 events or 10 million.
   */
  private async counters(botIds: string[]): Promise<Map<string, BotCounters>> {
    if (botIds.length === 0) return new Map();
    const rows = (await this.ds.query(
      `SELECT bot_id, signals_received::int AS signals_received, orders_created::int AS orders_created, last_signal_at
         FROM bot_signal_rollups WHERE bot_id = ANY($1::uuid[])`,
      [botIds],
    )) as Array<{ bot_id: string } & BotCounters>;
    return new Map(rows.map((r) => [r.bot_id, { signals_received: r.signals_received, orders_created: r.orders_created, last_signal_at: r.last_signal_at }]));
  }

  private validateSizing(type: SizingType, value: string): string {
    const parsed = parsePositiveDecimal(value, type === 'percent_balance' ? new Decimal(100) : undefined);
    if ('error' in parsed) throw BotErrors.invalidSizing(parsed.error);
    return parsed.value.toFixed();
  }

  private async normalizeSymbol(input: string, exchange: string): Promise<string> {
    const index = await this.markets.forExchange(exchange).catch(() => {
      throw BotErrors.marketsUnavailable(exchange);
    });
    const market = resolveMarket(index, input);
    if (!market) throw BotErrors.unknownSymbol(input, exchange);
    return market.symbol;
  }
}
