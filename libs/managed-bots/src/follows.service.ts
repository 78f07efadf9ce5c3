import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Decimal, DomainError } from '@torgovo/core';
import { checkBotLimits, EntitlementErrors, EntitlementsService } from '@torgovo/subscriptions';
import { ExchangeGateway, ExchangeGatewayFactory, isExchangeError, NewOrder, OrderSendFence, OrdersService, PaperBalances, PerformanceFigures, PositionFigures } from '@torgovo/trading';
import { ClosingPrices, closingAdjustments, FollowClosingPrices } from './closing-prices';
import { ExchangeCredentialsService } from '@torgovo/users';
import { FollowResponse, InvestmentDto, SubscribeDto, toFollowResponse, UnsubscribeDto, UpdateFollowDto } from './dto/follow.dto';
import { ManagedBotFollow } from './entities/managed-bot-follow.entity';
import { ManagedBot } from './entities/managed-bot.entity';
import { ManagedBotErrors } from './errors';
import { closingRef } from './follow-order-refs';
import { bookTotals, FollowerPerformanceService } from './follower-performance.service';
import { markAfterInvestmentChange } from './profit-share';
import { ProfitShareSettlementService, SettlementRow } from './profit-share-settlement.service';

export type EndedFollow = { id: string; user_id: string; managed_bot_id: string; mode: 'paper' | 'live'; exchange: string };

const SLIPPAGE_MIN = new Decimal('0.1');
const SLIPPAGE_MAX = new Decimal('3');

/** The quote currency followers invest in (every managed symbol is quoted in it). */
const QUOTE = 'USDT';
/** Two-key space (namespace, hashtext(user)): a user's follows are counted and written one request at a time. */
const USER_FOLLOWS_LOCK = 7_204_901;

function checkProtections(dto: { max_slippage_pct?: string; stop_loss_pct?: string | null }): void {
  if (dto.max_slippage_pct !== undefined) {
    const v = new Decimal(dto.max_slippage_pct);
    if (v.lt(SLIPPAGE_MIN) || v.gt(SLIPPAGE_MAX)) {
      throw new DomainError('validation_failed', 400, 'max_slippage_pct must be between 0.1 and 3', [{ field: 'max_slippage_pct', message: 'between 0.1 and 3' }]);
    }
  }
  if (dto.stop_loss_pct !== undefined && dto.stop_loss_pct !== null) {
    const v = new Decimal(dto.stop_loss_pct);
    if (v.lte(0) || v.gte(100)) {
      throw new DomainError('validation_failed', 400, 'stop_loss_pct must be above 0 and below 100', [{ field: 'stop_loss_pct', message: 'in (0, 100)' }]);
    }
  }
}

/**
 * Following a managed bot: subscribe (access, limits, investment bounds, the balance read through
 * the exchange gateway), the follower's protections, top-ups and withdrawals that keep the
 * high-water mark fair, and unsubscribe (settles the month so far; closes or leaves the positions).
 * Every query is filtered by the user: another user's follow is a 404.
 */
@Injectable()
export class FollowsService {
  private readonly logger = new Logger(FollowsService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly entitlements: EntitlementsService,
    private readonly credentials: ExchangeCredentialsService,
    private readonly gateways: ExchangeGatewayFactory,
    private readonly orders: OrdersService,
    private readonly performance: FollowerPerformanceService,
    private readonly settlements: ProfitShareSettlementService,
    private readonly sends: OrderSendFence,
    private readonly paper: PaperBalances,
    private readonly closingPrices: FollowClosingPrices,
  ) {}

  async subscribe(userId: string, dto: SubscribeDto): Promise<FollowResponse> {
    checkProtections(dto);
    const bot = await this.ds.getRepository(ManagedBot).findOne({ where: { id: dto.managed_bot_id } });
    if (!bot) throw ManagedBotErrors.notFound();
    if (bot.status !== 'active') throw ManagedBotErrors.paused();
    const mode = dto.mode ?? 'live';
    const ent = await this.entitlements.find(userId, 'managed_bot');
    if (!ent) throw EntitlementErrors.noActiveSubscription('managed_bot');
    const following = await this.ds.getRepository(ManagedBotFollow).find({ where: { user_id: userId, status: 'active' }, select: { managed_bot_id: true } });
    if (following.some((f) => f.managed_bot_id === bot.id)) throw ManagedBotErrors.alreadyFollowing();
    checkBotLimits(ent, { usage: { bots: following.length, symbols: [] }, live: mode === 'live' });

    const investment = new Decimal(dto.investment);
    this.checkBounds(bot, investment);
    const exchange = mode === 'paper' ? 'paper' : await this.liveExchange(userId, bot);
    await this.checkBalance(userId, mode, investment);
    // A paper follower's account is there before the first signal's fan-out (PaperBalances.open).
    if (mode === 'paper') await this.paper.open(this.ds.manager, userId, [QUOTE]);

    const rows = await this.ds.transaction(async (m) => {
      // The account, share-locked before anything else (the house order: user row, then the user's
      // lock, then follows): a deactivation or erasure committed during the checks above (a live
      // balance read takes hundreds of ms) is seen here and nothing is inserted; one arriving now
      // waits for this insert, then ends the follow in its own transaction (FollowUserListener).
      const [user] = (await m.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean }>;
      if (!user?.is_active) throw ManagedBotErrors.accountInactive();
      // The plan's follow limit again, at the insert and under the user's lock: two subscribes sent at
      // once each counted the follows before either was written, and both were.
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [USER_FOLLOWS_LOCK, userId]);
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM managed_bot_follows WHERE user_id = $1 AND status = 'active'`, [userId])) as Array<{ n: number }>;
      checkBotLimits(ent, { usage: { bots: n, symbols: [] }, live: mode === 'live' });
      // A re-follow starts from what the book (user, managed bot) already holds: earlier gains are not
      // this follow's. Read here, once every order of the book is final: an earlier follow's closing
      // sell filling after this read (read before, it was) moved the new follow's net by the close's
      // gain — settled already by the ending settlement at the market price, then charged again.
      // No order of the book can start meanwhile: only an active follow of it gets orders.
      const [busy] = (await m.query(
        `SELECT 1 FROM orders WHERE managed_bot_id = $2 AND user_id = $1 AND bot_id IS NULL AND mode = $3 AND status IN ('pending', 'submitting', 'open') LIMIT 1`,
        [userId, bot.id, mode],
      )) as unknown[];
      if (busy) throw ManagedBotErrors.bookUnsettled();
      const base = bookTotals((await this.performance.figures([{ id: 'new', user_id: userId, managed_bot_id: bot.id, mode }], m)).get('new'));
      return this.insertFollow(m, userId, bot.id, mode, exchange, investment, dto, ent, base);
    });
    if (rows.length === 0) throw ManagedBotErrors.alreadyFollowing();
    this.logger.log({ user_id: userId, managed_bot_id: bot.id, follow_id: rows[0].id, mode }, 'Managed bot followed');
    return toFollowResponse(await this.ds.getRepository(ManagedBotFollow).findOneByOrFail({ id: rows[0].id }));
  }

  private async insertFollow(
    m: EntityManager,
    userId: string,
    botId: string,
    mode: string,
    exchange: string,
    investment: Decimal,
    dto: SubscribeDto,
    ent: { profit_share_percentage?: string | null; guaranteed_monthly_return?: string | null },
    base: { net: Decimal; profit: Decimal; loss: Decimal },
  ): Promise<Array<{ id: string }>> {
    return (await m.query(
      `INSERT INTO managed_bot_follows (user_id, managed_bot_id, mode, exchange, initial_investment, investment, high_water_mark,
                                        max_slippage_pct, stop_loss_pct, profit_share_pct, guaranteed_monthly_return, current_balance,
                                        pnl_base, profit_base, loss_base)
       VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, $8, $9, $5, $10, $11, $12)
       ON CONFLICT (user_id, managed_bot_id) WHERE status = 'active' DO NOTHING
       RETURNING id`,
      [
        userId, botId, mode, exchange, investment.toFixed(), dto.max_slippage_pct ?? '1', dto.stop_loss_pct ?? null,
        ent.profit_share_percentage ?? '0', ent.guaranteed_monthly_return ?? null, base.net.toFixed(), base.profit.toFixed(), base.loss.toFixed(),
      ],
    )) as Array<{ id: string }>;
  }

  /** The user's follows, newest first. */
  async list(userId: string): Promise<FollowResponse[]> {
    const rows = await this.ds.getRepository(ManagedBotFollow).find({ where: { user_id: userId }, order: { created_at: 'DESC' }, take: 200 });
    return rows.map((f) => toFollowResponse(f));
  }

  async update(userId: string, managedBotId: string, dto: UpdateFollowDto): Promise<FollowResponse> {
    checkProtections(dto);
    return this.ds.transaction(async (m) => {
      const follow = await this.lockActive(m, userId, managedBotId);
      if (dto.max_slippage_pct !== undefined) follow.max_slippage_pct = dto.max_slippage_pct;
      if (dto.stop_loss_pct !== undefined) follow.stop_loss_pct = dto.stop_loss_pct;
      return toFollowResponse(await m.save(follow));
    });
  }

  /**
   * A top-up raises the mark by its amount; a withdrawal of W out of equity E lowers it by W above
   * the mark (the gain stays chargeable), pro rata at or below it (markAfterInvestmentChange in
   * profit-share.ts). Bounds: the managed bot's min and max investment.
   */
  async changeInvestment(userId: string, managedBotId: string, dto: InvestmentDto): Promise<FollowResponse> {
    const amount = new Decimal(dto.amount);
    if (amount.isZero()) throw ManagedBotErrors.zeroAmount();
    const bot = await this.ds.getRepository(ManagedBot).findOne({ where: { id: managedBotId } });
    if (!bot) throw ManagedBotErrors.notFound();
    const follow0 = await this.ds.getRepository(ManagedBotFollow).findOne({ where: { user_id: userId, managed_bot_id: managedBotId, status: 'active' } });
    if (!follow0) throw ManagedBotErrors.followNotFound();
    if (amount.gt(0)) await this.checkBalance(userId, follow0.mode, amount);
    return this.ds.transaction(async (m) => {
      const locked = await this.lockActive(m, userId, managedBotId);
      await this.performance.recompute([locked.id], m);
      const follow = await m.getRepository(ManagedBotFollow).findOneByOrFail({ id: locked.id });
      const investment = new Decimal(follow.investment).plus(amount);
      if (amount.lt(0) && investment.lt(bot.min_investment)) {
        throw ManagedBotErrors.withdrawalTooLarge(Decimal.max(new Decimal(follow.investment).minus(bot.min_investment), 0).toFixed());
      }
      this.checkBounds(bot, investment);
      const equity = new Decimal(follow.investment).plus(follow.net_pnl);
      if (amount.lt(0) && amount.abs().gt(equity)) throw ManagedBotErrors.withdrawalTooLarge(Decimal.max(equity, 0).toFixed());
      const mark = markAfterInvestmentChange(follow.high_water_mark, equity, amount);
      await m.query(
        `UPDATE managed_bot_follows SET investment = $2, high_water_mark = $3, current_balance = $2::numeric + net_pnl, updated_at = now() WHERE id = $1`,
        [follow.id, investment.toFixed(), mark.toFixed()],
      );
      return toFollowResponse(await m.getRepository(ManagedBotFollow).findOneByOrFail({ id: follow.id }));
    });
  }

  /**
   * Stop copying: in one transaction the follow's performance is brought up to date, the month so
   * far is settled (profit share on equity above the mark), the follow ends, and — if asked — one
   * closing order per symbol it holds is written (they pass the placement rule after the end); a
   * live follow's positions so closed are valued in that settlement at the market price they will
   * sell at (FollowClosingPrices), not at their last fill.
   */
  async unsubscribe(userId: string, managedBotId: string, dto: UnsubscribeDto): Promise<FollowResponse> {
    const close = dto.close_positions === true;
    // Live, closing: the market price of what the closing orders will sell, read before the transaction.
    const prices = close ? await this.closingPrices.forUser(userId, managedBotId) : undefined;
    const answer = await this.ds.transaction(async (m) => {
      const follow = await this.lockActive(m, userId, managedBotId);
      const ended = await this.endFollows(m, [follow.id], 'user', close, prices);
      const settlement = ended.settled[0] ?? null;
      const row = await m.getRepository(ManagedBotFollow).findOneByOrFail({ id: follow.id });
      return toFollowResponse(row, settlement);
    });
    // "Unfollowed" is answered only once no order of this follow decided before the end committed
    // can still reach the exchange (the send follows its decision's commit; OrderSendFence). Its own
    // closing orders are not decided yet: nothing of theirs is waited for.
    await this.sends.settled({ user_id: userId, managed_bot_id: managedBotId });
    return answer;
  }

  /**
   * Ends follows (unsubscribe, stop-loss) in the caller's transaction: recompute, settle, end, and
   * optionally close what each holds. Returns the settlements made and the follows ended; after the
   * commit the caller waits for their sends already decided (OrderSendFence) before it answers.
   */
  async endFollows(
    m: EntityManager,
    followIds: string[],
    reason: string,
    closePositions: boolean,
    prices?: ClosingPrices,
  ): Promise<{ settled: SettlementRow[]; ended: EndedFollow[]; closing: number }> {
    await this.performance.recompute(followIds, m);
    const now = new Date();
    // Closing: the positions as they stand now (recomputed, under the follows' locks) are what the
    // closing orders sell, and what the settlement values at the market price (FollowClosingPrices).
    const figures = closePositions ? await this.performance.figures(await this.activeFollows(m, followIds), m) : new Map<string, PerformanceFigures | undefined>();
    const positionsOf = (id: string) => figures.get(id)?.positions ?? [];
    const settled = await this.settlements.settleEnding(m, followIds, now, closingAdjustments([...figures.keys()].map((id) => ({ id })), positionsOf, prices));
    const [ended] = (await m.query(
      `UPDATE managed_bot_follows SET status = 'ended', end_reason = $2, ended_at = now(), updated_at = now()
        WHERE id = ANY($1::uuid[]) AND status = 'active' RETURNING id, user_id, managed_bot_id, mode, exchange`,
      [followIds, reason],
    )) as [EndedFollow[], number];
    const closing = closePositions ? await this.closePositions(m, ended, positionsOf, now) : 0;
    return { settled, ended, closing };
  }

  private async activeFollows(m: EntityManager, followIds: readonly string[]): Promise<EndedFollow[]> {
    return (await m.query(`SELECT id, user_id, managed_bot_id, mode, exchange FROM managed_bot_follows WHERE id = ANY($1::uuid[]) AND status = 'active'`, [
      followIds,
    ])) as EndedFollow[];
  }

  /**
   * One closing order per symbol each follow holds (the engine's positions of its books, one
   * statement) or is still buying — a buy decided before the end (sent, its fill not recorded yet)
   * fills after it; closing only what the book held left that purchase on the account, after the
   * user asked to close everything (or the stop-loss did). Its close waits behind it in the user's
   * queue and is sized once its fill is read back (all of it; nothing when it filled nothing). All
   * written in ONE insert for every follow and symbol.
   */
  private async closePositions(m: EntityManager, follows: EndedFollow[], positionsOf: (followId: string) => readonly PositionFigures[], at: Date): Promise<number> {
    if (follows.length === 0) return 0;
    const buying = (await m.query(
      `SELECT f.id, o.symbol, max(o.price)::text AS price
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::varchar[]) AS f(id, user_id, managed_bot_id, mode)
         JOIN orders o ON o.managed_bot_id = f.managed_bot_id AND o.user_id = f.user_id AND o.mode = f.mode
        WHERE o.bot_id IS NULL AND o.side = 'buy' AND o.sent_at IS NOT NULL AND o.status IN ('pending', 'submitting', 'open')
        GROUP BY f.id, o.symbol`,
      [follows.map((f) => f.id), follows.map((f) => f.user_id), follows.map((f) => f.managed_bot_id), follows.map((f) => f.mode)],
    )) as Array<{ id: string; symbol: string; price: string | null }>;
    const closing: NewOrder[] = follows.flatMap((f) =>
      [
        ...positionsOf(f.id).filter((p) => new Decimal(p.amount).gt(0)),
        ...buying
          .filter((b) => b.id === f.id && !positionsOf(f.id).some((p) => p.symbol === b.symbol && new Decimal(p.amount).gt(0)))
          .map((b) => ({ symbol: b.symbol, last_price: b.price })),
      ].map((p) => ({
          user_id: f.user_id,
          managed_bot_id: f.managed_bot_id,
          source: 'managed' as const,
          source_ref: closingRef(f.id, p.symbol, at),
          mode: f.mode,
          exchange: f.exchange,
          symbol: p.symbol,
          side: 'sell' as const,
          type: 'market' as const,
          position_percent: '100',
          // Paper fills at a price: the book's last fill on that symbol.
          price: f.mode === 'paper' ? p.last_price : null,
        })),
    );
    return this.orders.createPendingMany(m, closing);
  }

  private async lockActive(m: EntityManager, userId: string, managedBotId: string): Promise<ManagedBotFollow> {
    const follow = await m.getRepository(ManagedBotFollow).findOne({
      where: { user_id: userId, managed_bot_id: managedBotId, status: 'active' },
      lock: { mode: 'pessimistic_write' },
    });
    if (!follow) throw ManagedBotErrors.followNotFound();
    return follow;
  }

  private checkBounds(bot: ManagedBot, investment: Decimal): void {
    if (investment.lt(bot.min_investment)) throw ManagedBotErrors.investmentOutOfRange(`investment must be at least ${new Decimal(bot.min_investment).toFixed()}`);
    if (bot.max_investment !== null && investment.gt(bot.max_investment)) {
      throw ManagedBotErrors.investmentOutOfRange(`investment must be at most ${new Decimal(bot.max_investment).toFixed()}`);
    }
  }

  private async liveExchange(userId: string, bot: ManagedBot): Promise<string> {
    const view = await this.credentials.view(userId);
    if (!view.exchange_connected || !view.exchange) throw ManagedBotErrors.exchangeNotConnected();
    if (view.exchange.id !== bot.exchange) throw ManagedBotErrors.wrongExchange(bot.exchange, view.exchange.id);
    return view.exchange.id;
  }

  /**
   * The investment must be within the free quote balance. Paper: read only (the paper gateway's
   * fetchBalance would open the account, and a refused follow writes nothing). Live: read through the
   * gateway, the keys decrypted here, at this moment of use, and straight into the gateway — the same
   * as when they are tested on connect; never logged.
   */
  private async checkBalance(userId: string, mode: 'paper' | 'live', amount: Decimal): Promise<void> {
    const free = mode === 'paper' ? ((await this.paper.list(userId)).find((b) => b.currency === QUOTE)?.free ?? '0') : await this.liveFree(userId);
    if (amount.gt(free)) throw ManagedBotErrors.insufficientBalance(QUOTE, new Decimal(free).toFixed());
  }

  private async liveFree(userId: string): Promise<string> {
    const creds = await this.credentials.decryptedFor(userId);
    if (!creds) throw ManagedBotErrors.exchangeNotConnected();
    const gateway: ExchangeGateway = this.gateways.forLive(creds);
    try {
      return (await gateway.fetchBalance())[QUOTE]?.free ?? '0';
    } catch (error) {
      if (isExchangeError(error)) throw ManagedBotErrors.balanceUnavailable(error.reason);
      throw error;
    }
  }
}
