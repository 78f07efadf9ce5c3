import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, withAdvisoryLock } from '@torgovo/core';
import { ExchangeCredentialsService } from '@torgovo/users';
import type { OrderRecord } from '../orders/entities/order.entity';
import { LiveReadBacks } from './live-read-backs';
import { OrderGateways } from './order-gateways';
import { outcomeOf } from './order-outcome';
import { OrderTransitions } from './order-transitions';
import { TradingManagerConfig } from './trading-manager.config';

/** pg_try_advisory_lock key of the open-orders sync: one replica syncs per tick. */
export const OPEN_ORDERS_SYNC_LOCK_KEY = 7_204_300;

type OpenOrder = Pick<OrderRecord, 'id' | 'user_id' | 'mode' | 'exchange' | 'symbol' | 'client_order_id' | 'exchange_order_id' | 'credential_id'>;

export interface SyncResult {
  checked: number;
  changed: number;
  errors: number;
}

/**
 * Looks `open` orders (resting limits, fills not read back yet) up on their exchange, a bounded
 * batch per tick, least recently checked first — except those this worker's LiveReadBacks will read. One user's lookups run one after another (same
 * rate-limited ccxt client); users run in parallel up to TRADING_CONCURRENCY.
 */
@Injectable()
export class OpenOrdersSync {
  private readonly logger = new Logger(OpenOrdersSync.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateways: OrderGateways,
    private readonly credentials: ExchangeCredentialsService,
    private readonly transitions: OrderTransitions,
    private readonly readBacks: LiveReadBacks,
    private readonly app: AppConfig,
    @Inject(TradingManagerConfig) private readonly config: TradingManagerConfig,
  ) {}

  /** null when another replica holds the sync lock. */
  async tick(): Promise<SyncResult | null> {
    const outcome = await withAdvisoryLock(this.ds, OPEN_ORDERS_SYNC_LOCK_KEY, () => this.syncBatch());
    return outcome.ran ? outcome.result : null;
  }

  private async syncBatch(): Promise<SyncResult> {
    const listed: OpenOrder[] = await this.ds.query(
      `SELECT id, user_id, mode, exchange, symbol, client_order_id, exchange_order_id, credential_id FROM orders
        WHERE status = 'open' AND NOT (id = ANY($2::uuid[])) ORDER BY updated_at LIMIT $1`,
      // Orders this worker is about to read back anyway (LiveReadBacks) are left to it.
      [this.config.TRADING_SYNC_BATCH, this.readBacks.pendingIds()],
    );
    // And again after the read: at a bar close the query may wait for a connection while orders are
    // recorded open and queued to be read back (seen in bench/burst: 200 orders read twice).
    const rows = listed.filter((r) => this.readBacks.resultOf(r.id) === undefined);
    const byUser = new Map<string, OpenOrder[]>();
    for (const r of rows) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r]);
    const queues = [...byUser.values()];
    const result: SyncResult = { checked: rows.length, changed: 0, errors: 0 };
    const worker = async (): Promise<void> => {
      for (let q = queues.shift(); q; q = queues.shift()) {
        for (const order of q) await this.syncOne(order, result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.app.env.TRADING_CONCURRENCY, queues.length) }, worker));
    if (result.changed > 0 || result.errors > 0) this.logger.log(result, 'Open orders synced');
    await this.purgeRetiredKeys();
    return result;
  }

  /**
   * Replaced or disconnected keys are kept only while an order sent with them is unresolved (to look
   * it up). The cut-off is read before the list, so keys retired after an order was confirmed with
   * them are either in the list or newer than the cut-off.
   */
  private async purgeRetiredKeys(): Promise<void> {
    const [{ cutoff }] = (await this.ds.query(`SELECT now() AS cutoff`)) as Array<{ cutoff: Date }>;
    const needed = (await this.ds.query(
      `SELECT DISTINCT credential_id FROM orders WHERE status IN ('pending', 'submitting', 'open') AND credential_id IS NOT NULL`,
    )) as Array<{ credential_id: string }>;
    const purged = await this.credentials.purgeRetired(needed.map((r) => r.credential_id), cutoff);
    if (purged > 0) this.logger.log({ purged }, 'Retired exchange keys purged');
  }

  private async syncOne(order: OpenOrder, result: SyncResult): Promise<void> {
    try {
      const gateway = await this.gateways.forOrder(order);
      const ref = order.exchange_order_id ? { id: order.exchange_order_id } : { clientOrderId: order.client_order_id };
      const found = await gateway.fetchOrder({ ...ref, symbol: order.symbol });
      if (!found) this.logger.warn({ order_id: order.id, user_id: order.user_id, client_order_id: order.client_order_id }, 'Open order unknown to the exchange');
      const outcome = found ? outcomeOf(found) : null;
      await this.transitions.syncOpen(order.id, outcome);
      if (outcome && outcome.status !== 'open') {
        result.changed += 1;
        this.logger.log({ order_id: order.id, user_id: order.user_id, client_order_id: order.client_order_id, status: outcome.status }, 'Open order closed');
      }
    } catch (err) {
      // Left for the next tick; touched so one broken order does not hold the head of the batch.
      result.errors += 1;
      this.logger.warn({ order_id: order.id, user_id: order.user_id, err: err instanceof Error ? err.message : String(err) }, 'Open order sync failed');
      await this.transitions.syncOpen(order.id, null).catch(() => undefined);
    }
  }
}
