import type { DataSource } from 'typeorm';
import { cappedList, CappedPage, PageQuery, SqlFilter } from '@torgovo/core';
import type { OrderMode, OrderRecord, OrderRowStatus } from './entities/order.entity';

/** Every user's orders (the admin list); each filter is optional. */
export interface AllOrdersFilter {
  user_id?: string;
  bot_id?: string;
  status?: OrderRowStatus;
  symbol?: string;
  mode?: OrderMode;
  /** created_at ≥ from, < to. */
  from?: Date;
  to?: Date;
}

/**
 * Newest first. Served by orders_user_created_idx (user_id), orders_status_created_idx (status),
 * orders_symbol_status_created_idx (symbol, or symbol and status) or orders_created_idx; the count is capped (LIST_COUNT_CAP).
 * Rows come back in the entity's shape (column names are its property names), ready for toOrderResponse.
 */
export function listAllOrders(ds: DataSource, f: AllOrdersFilter, q: PageQuery): Promise<CappedPage<OrderRecord>> {
  const filter = new SqlFilter()
    .add(f.user_id, (p) => `o.user_id = ${p}`)
    .add(f.bot_id, (p) => `o.bot_id = ${p}`)
    .add(f.status, (p) => `o.status = ${p}`)
    .add(f.symbol, (p) => `o.symbol = ${p}`)
    .add(f.mode, (p) => `o.mode = ${p}`)
    .add(f.from, (p) => `o.created_at >= ${p}`)
    .add(f.to, (p) => `o.created_at < ${p}`);
  return cappedList<OrderRecord>(ds, { select: 'o.*', from: 'orders o', filter, orderBy: 'o.created_at DESC, o.id DESC' }, q);
}
