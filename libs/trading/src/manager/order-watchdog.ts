import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicJob, setHealthFlag, STOPPED_WORKERS_SQL } from '@torgovo/core';
import { OrderControlConfig } from './order-control.config';

/** pg_try_advisory_lock key of the watchdog: one replica checks per tick. */
export const ORDER_WATCHDOG_LOCK_KEY = 7_204_320;
/** The health flag's name: GET /health `details.alerts.flags.order_watchdog`. */
export const ORDER_WATCHDOG_FLAG = 'order_watchdog';

export interface WatchdogReading {
  /** Orders not sent (pending, or claimed and not sent) longer than ORDER_WAIT_ALERT_SECONDS. */
  orders_waiting: number;
  /** Age of the oldest unsent order, in seconds (null: none). */
  oldest_wait_seconds: number | null;
  /** Workers whose heartbeat stopped in the last hour. */
  stopped_workers: number;
  wait_alert_seconds: number;
  reasons: Array<'orders_waiting' | 'worker_heartbeat_stopped'>;
}

/**
 * Every ORDER_WATCHDOG_INTERVAL_SECONDS, one statement over the queue's partial index and the
 * heartbeats: orders waiting past the threshold, or a worker whose heartbeat stopped, raise the
 * `order_watchdog` health flag (GET /health) and log at error level on every check while it stays
 * up; the flag comes down by itself at the first check that finds neither.
 */
@Injectable()
export class OrderWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderWatchdog.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(OrderControlConfig) private readonly config: OrderControlConfig,
    scheduler: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, scheduler, 'order-watchdog', ORDER_WATCHDOG_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    if (this.config.TRADING_MANAGER_ENABLED) this.job.start(this.config.ORDER_WATCHDOG_INTERVAL_SECONDS * 1000, () => this.tick());
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** null when another replica checks this tick, or the check failed (logged). Never throws. */
  async tick(): Promise<WatchdogReading | null> {
    try {
      return await this.job.exclusive(() => this.check());
    } catch (err) {
      this.logger.error({ err }, 'Order watchdog check failed');
      return null;
    }
  }

  private async check(): Promise<WatchdogReading> {
    const threshold = this.config.ORDER_WAIT_ALERT_SECONDS;
    const [row] = (await this.ds.query(
      `SELECT count(*) FILTER (WHERE created_at < now() - make_interval(secs => $1))::int AS orders_waiting,
              extract(epoch FROM now() - min(created_at))::float AS oldest_wait_seconds,
              ${STOPPED_WORKERS_SQL} AS stopped_workers
         FROM orders WHERE status IN ('pending', 'submitting') AND sent_at IS NULL`,
      [threshold],
    )) as Array<{ orders_waiting: number; oldest_wait_seconds: number | null; stopped_workers: number }>;
    const reasons: WatchdogReading['reasons'] = [];
    if (row.orders_waiting > 0) reasons.push('orders_waiting');
    if (row.stopped_workers > 0) reasons.push('worker_heartbeat_stopped');
    const reading: WatchdogReading = {
      orders_waiting: row.orders_waiting,
      oldest_wait_seconds: row.oldest_wait_seconds === null ? null : Math.round(row.oldest_wait_seconds),
      stopped_workers: row.stopped_workers,
      wait_alert_seconds: threshold,
      reasons,
    };
    const { raisedAt } = await setHealthFlag(this.ds, ORDER_WATCHDOG_FLAG, reasons.length > 0, { ...reading });
    if (reasons.length > 0) this.logger.error({ ...reading, raised_at: raisedAt }, 'Order watchdog alert: orders are waiting or a worker stopped');
    return reading;
  }
}
