import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '@torgovo/core';
import { isExchangeError } from '../errors';
import type { Order, OrderRef } from '../gateway/exchange-gateway';
import type { OrderRecord } from '../orders/entities/order.entity';
import { OrderControlConfig } from './order-control.config';
import { OrderGateways } from './order-gateways';
import { OrderOutcome, outcomeOf } from './order-outcome';
import { OrderTransitions } from './order-transitions';
import { CancelReasons } from './placement-rule';

/** pg_try_advisory_lock key of the cancel job: one replica cancels per tick. */
export const ORDER_CANCELS_LOCK_KEY = 7_204_310;
const BATCH = 50;

const CANCELED_ON_EXCHANGE = `${CancelReasons.userCanceled}: canceled on the exchange at the user's request`;

/** A cancel we asked for says so; a fill that won the race keeps its own outcome. */
function withCancelReason(o: OrderOutcome): OrderOutcome {
  return o.status === 'canceled' ? { ...o, reason: CANCELED_ON_EXCHANGE } : o;
}

type CancelTarget = Pick<OrderRecord, 'id' | 'user_id' | 'mode' | 'exchange' | 'symbol' | 'client_order_id' | 'exchange_order_id' | 'credential_id'>;

export interface CancelPass {
  checked: number;
  /** Now final (canceled, or filled when a fill won the race). */
  settled: number;
  errors: number;
}

/**
 * Cancels on the exchange the `open` orders the user asked to cancel (OrderTransitions.requestCancel
 * marked them), with the keys each was sent with (OrderGateways.whereSent: never other keys), and
 * records what the exchange then says through the sync's guarded transition — a fill that raced the
 * cancel stays a fill. One user's calls run one after another (the same rate-limited client).
 * Orders still `submitting` when the cancel came are handled once their placement is recorded `open`.
 */
@Injectable()
export class OrderCancels implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderCancels.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateways: OrderGateways,
    private readonly transitions: OrderTransitions,
    @Inject(OrderControlConfig) private readonly config: OrderControlConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'order-cancels', ORDER_CANCELS_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    if (this.config.TRADING_MANAGER_ENABLED) this.job.start(this.config.TRADING_CANCEL_POLL_MS, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** null when another replica (or a run here) holds the job. Never throws. */
  async tick(): Promise<CancelPass | null> {
    try {
      return await this.job.exclusive(() => this.pass());
    } catch (err) {
      this.logger.error({ err }, 'Order cancel pass failed');
      return null;
    }
  }

  private async pass(): Promise<CancelPass> {
    // A first try at once, one that did not settle again after the retry delay (cancel_retry_at: its
    // own column — the open-orders sync touches updated_at on every look-up).
    const rows = (await this.ds.query(
      `SELECT id, user_id, mode, exchange, symbol, client_order_id, exchange_order_id, credential_id FROM orders
        WHERE cancel_requested_at IS NOT NULL AND status = 'open' AND (cancel_retry_at IS NULL OR cancel_retry_at <= now())
        ORDER BY cancel_requested_at LIMIT $1`,
      [BATCH],
    )) as CancelTarget[];
    const byUser = new Map<string, CancelTarget[]>();
    for (const r of rows) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r]);
    const result: CancelPass = { checked: rows.length, settled: 0, errors: 0 };
    await Promise.all(
      [...byUser.values()].map(async (orders) => {
        for (const order of orders) await this.cancelOne(order, result);
      }),
    );
    if (rows.length > 0) this.logger.log(result, 'Order cancels processed');
    return result;
  }

  private async cancelOne(order: CancelTarget, result: CancelPass): Promise<void> {
    const log = { order_id: order.id, user_id: order.user_id, client_order_id: order.client_order_id };
    try {
      const gateway = await this.gateways.forOrder(order);
      const ref: OrderRef = order.exchange_order_id ? { id: order.exchange_order_id, symbol: order.symbol } : { clientOrderId: order.client_order_id, symbol: order.symbol };
      let found: Order | null;
      try {
        found = await gateway.cancelOrder(ref);
      } catch (error) {
        // Already filled or gone: the exchange's own record of the order decides.
        if (!isExchangeError(error) || error.transient) throw error;
        found = await gateway.fetchOrder(ref);
      }
      const outcome = found ? withCancelReason(outcomeOf(found)) : null;
      await this.transitions.syncOpen(order.id, outcome);
      if (outcome?.final) {
        result.settled += 1;
        this.logger.log({ ...log, status: outcome.status }, 'Order cancel settled');
      } else {
        this.logger.warn({ ...log, found: found !== null }, 'Order cancel did not settle; retried');
        await this.transitions.cancelRetryLater(order.id, this.config.TRADING_CANCEL_RETRY_MS);
      }
    } catch (err) {
      result.errors += 1;
      this.logger.warn({ ...log, err: err instanceof Error ? err.message : String(err) }, 'Order cancel failed; retried');
      await this.transitions.cancelRetryLater(order.id, this.config.TRADING_CANCEL_RETRY_MS).catch(() => undefined);
    }
  }
}
