import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere } from 'typeorm';
import { page, Page } from '@torgovo/core';
import { clientOrderIdFor } from './client-order-id';
import type { ListOrdersQuery } from './dto/list-orders.query';
import { OrderMode, OrderRecord, OrderSource } from './entities/order.entity';
import { OrderErrors } from './errors';

export interface NewOrder {
  user_id: string;
  bot_id?: string | null;
  managed_bot_id?: string | null;
  source: OrderSource;
  source_ref: string;
  mode: OrderMode;
  exchange: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  /** Exactly one of amount (base) and quote_amount is set. */
  amount?: string | null;
  quote_amount?: string | null;
  price?: string | null;
}

@Injectable()
export class OrdersService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * Insert a pending order inside the caller's transaction. (source, source_ref) is unique:
   * if the signal already produced an order, that order is returned and `created` is false.
   */
  async createPending(manager: EntityManager, input: NewOrder): Promise<{ order: OrderRecord; created: boolean }> {
    const client_order_id = clientOrderIdFor(input.source, input.source_ref);
    const rows = (await manager.query(
      `INSERT INTO orders (user_id, bot_id, managed_bot_id, source, source_ref, mode, exchange, symbol, side, type,
                           amount, quote_amount, price, client_order_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (source, source_ref) DO NOTHING
       RETURNING *`,
      [
        input.user_id,
        input.bot_id ?? null,
        input.managed_bot_id ?? null,
        input.source,
        input.source_ref,
        input.mode,
        input.exchange,
        input.symbol,
        input.side,
        input.type,
        input.amount ?? null,
        input.quote_amount ?? null,
        input.price ?? null,
        client_order_id,
      ],
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

  /** The caller's orders, newest first (served by orders_user_created_idx). */
  async list(userId: string, q: ListOrdersQuery): Promise<Page<OrderRecord>> {
    const where: FindOptionsWhere<OrderRecord> = { user_id: userId };
    if (q.bot_id) where.bot_id = q.bot_id;
    if (q.status) where.status = q.status;
    if (q.symbol) where.symbol = q.symbol;
    const [items, total] = await this.ds.getRepository(OrderRecord).findAndCount({
      where,
      order: { created_at: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(items, total, q);
  }
}
