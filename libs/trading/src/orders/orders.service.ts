import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, Raw } from 'typeorm';
import { page, Page } from '@torgovo/core';
import type { ListOrdersQuery } from './dto/list-orders.query';
import { OrderRecord } from './entities/order.entity';
import { OrderErrors } from './errors';
import { NewOrder, PENDING_ORDER_COLUMNS, pendingOrderPlaceholders, pendingOrderValues } from './pending-order';

@Injectable()
export class OrdersService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

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

  findForUser(userId: string, id: string): Promise<OrderRecord | null> {
    return this.ds.getRepository(OrderRecord).findOne({ where: { id, user_id: userId } });
  }

  /** Another user's order is indistinguishable from a missing one. */
  async getForUser(userId: string, id: string): Promise<OrderRecord> {
    const order = await this.findForUser(userId, id);
    if (!order) throw OrderErrors.notFound();
    return order;
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
