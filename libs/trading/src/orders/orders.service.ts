import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, FindOptionsWhere, In, IsNull, Like, Raw } from 'typeorm';
import { page, Page } from '@torgovo/core';
import type { ListOrdersQuery } from './dto/list-orders.query';
import { OrderRecord } from './entities/order.entity';
import { OrderErrors } from './errors';
import { OrderTransitions } from '../manager/order-transitions';
import { MANUAL_CLOSE_REF_PREFIX } from '../manager/placement-rule';
import { NewOrder, PENDING_ORDER_COLUMNS, PENDING_ORDER_SQL_TYPES, pendingOrderColumnArrays, pendingOrderPlaceholders, pendingOrderValues } from './pending-order';

@Injectable()
export class OrdersService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly transitions: OrderTransitions,
  ) {}

  /**
   * Insert a pending order inside the caller's transaction. (source, source_ref) is unique:
   * if the signal already produced an order, that order is returned and `created` is false.
   */
  async createPending(manager: EntityManager, input: NewOrder): Promise<{ order: OrderRecord; created: boolean }> {
    const rows = (await manager.query(
      `INSERT INTO orders (${PENDING_ORDER_COLUMNS.join(', ')}) VALUES (${pendingOrderPlaceholders(1)})
       ON CONFLICT (source, source_ref) DO NOTHING
       RETURNING *`,
      pendingOrderValues(input),
    )) as OrderRecord[];
    // Column names are the entity's property names and pg maps numeric → string, timestamptz → Date,
    // so the returned row is the entity's shape: no read-back on the webhook hot path.
    if (rows.length > 0) return { order: rows[0], created: true };
    return { order: await manager.getRepository(OrderRecord).findOneByOrFail({ source: input.source, source_ref: input.source_ref }), created: false };
  }

  /**
   * Many pending orders in the caller's transaction, in ONE statement (INSERT … SELECT FROM unnest of
   * one array per column): any number of users and symbols at once (a portfolio stop-loss closing
   * every triggered follower's positions). An order whose (source, source_ref) exists is skipped.
   * Returns how many were created.
   */
  async createPendingMany(manager: EntityManager, inputs: readonly NewOrder[]): Promise<number> {
    if (inputs.length === 0) return 0;
    const arrays = pendingOrderColumnArrays(inputs);
    const unnest = PENDING_ORDER_COLUMNS.map((c, i) => `$${i + 1}::${PENDING_ORDER_SQL_TYPES[c]}[]`).join(', ');
    const [, n] = (await manager.query(
      `INSERT INTO orders (${PENDING_ORDER_COLUMNS.join(', ')})
       SELECT * FROM unnest(${unnest})
       ON CONFLICT (source, source_ref) DO NOTHING`,
      arrays,
    )) as [unknown, number];
    return n;
  }

  /**
   * POST /bots/{id}/close, inside the caller's transaction (which holds the bot's row lock, so two
   * clicks take turns): a market sell of 100 % of the bot's position, sized by the placement rule
   * when it is sent — a fill that lands in between is sold too. A close of this bot still waiting to
   * be claimed is returned instead of a second one (the partial unique index orders_one_pending_close
   * backs that); once one is claimed, a new one queues behind it and is sized from what it left
   * (nothing: canceled `no_position`), so repeated clicks never sell more than the bot holds.
   */
  async createManualClose(manager: EntityManager, bot: Pick<NewOrder, 'user_id' | 'mode' | 'exchange' | 'symbol'> & { bot_id: string }): Promise<{ order: OrderRecord; created: boolean }> {
    const waiting = await manager.getRepository(OrderRecord).findOne({
      where: { bot_id: bot.bot_id, source: 'manual', status: 'pending', sent_at: IsNull(), source_ref: Like(`${MANUAL_CLOSE_REF_PREFIX}%`) },
    });
    if (waiting) return { order: waiting, created: false };
    return this.createPending(manager, {
      ...bot,
      source: 'manual',
      source_ref: `${MANUAL_CLOSE_REF_PREFIX}${bot.bot_id}:${randomUUID()}`,
      side: 'sell',
      type: 'market',
      position_percent: '100',
      signal_at: new Date(),
    });
  }

  /** The bot's orders not final yet (pending, submitting or open). */
  async unfinishedOfBot(manager: EntityManager, botId: string): Promise<number> {
    const [row] = (await manager.query(`SELECT count(*)::int AS n FROM orders WHERE bot_id = $1 AND status IN ('pending', 'submitting', 'open')`, [botId])) as Array<{ n: number }>;
    return row.n;
  }

  findForUser(userId: string, id: string): Promise<OrderRecord | null> {
    return this.ds.getRepository(OrderRecord).findOne({ where: { id, user_id: userId } });
  }

  /** Another user's order is indistinguishable from a missing one. */
  async getForUser(userId: string, id: string): Promise<OrderRecord> {
    const order = await this.findForUser(userId, id);
    if (!order) throw OrderErrors.notFound();
    return order;
  }

  /**
   * POST /orders/{id}/cancel: a pending order never sent is canceled now; one that may be on the
   * exchange is marked and canceled there by the worker (OrderCancels), its status then following
   * the exchange. Asking again is harmless. A final order is 409, another user's 404.
   */
  async cancel(userId: string, id: string): Promise<OrderRecord> {
    const order = await this.transitions.requestCancel(userId, id);
    if (order) return order;
    const existing = await this.findForUser(userId, id);
    if (!existing) throw OrderErrors.notFound();
    throw OrderErrors.final(existing.status);
  }

  /** Orders by id, any owner: the live-updates feed pairs each with its event's user. */
  findByIds(ids: string[]): Promise<OrderRecord[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.ds.getRepository(OrderRecord).findBy({ id: In(ids) });
  }

  /** Status and reason of the user's orders among `ids` (absent: not theirs or no such order), one query. */
  async outcomesFor(userId: string, ids: readonly string[]): Promise<Map<string, { status: string; reason: string | null }>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.ds.query(`SELECT id, status, reason FROM orders WHERE user_id = $1 AND id = ANY($2::uuid[])`, [userId, [...new Set(ids)]])) as Array<{
      id: string;
      status: string;
      reason: string | null;
    }>;
    return new Map(rows.map((r) => [r.id, { status: r.status, reason: r.reason }]));
  }

  /** The caller's orders, newest first (served by orders_user_created_idx). */
  async list(userId: string, q: ListOrdersQuery): Promise<Page<OrderRecord>> {
    const where: FindOptionsWhere<OrderRecord> = { user_id: userId };
    if (q.bot_id) where.bot_id = q.bot_id;
    if (q.status) where.status = q.status;
    // "BTCUSDT" (no separator) matches the stored unified symbol without its slash.
    if (q.symbol) where.symbol = q.symbol.includes('/') ? q.symbol : Raw((col) => `replace(${col}, '/', '') = :compact`, { compact: q.symbol });
    const [items, total] = await this.ds.getRepository(OrderRecord).findAndCount({
      where,
      order: { created_at: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(items, total, q);
  }
}
