import { hostname } from 'node:os';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const BEAT_MS = 10_000;

/** A worker is alive if it beat within this window (GET /health, the order watchdog). */
export const WORKER_STALE_SECONDS = 60;

/**
 * Workers whose heartbeat stopped within the last hour without deregistering (killed or hung; a
 * clean shutdown deletes its row, retention deletes day-old ones): a scalar subquery for watchdogs.
 */
export const STOPPED_WORKERS_SQL = `(SELECT count(*)::int FROM worker_heartbeats
   WHERE beat_at < now() - make_interval(secs => ${WORKER_STALE_SECONDS}) AND beat_at > now() - interval '1 hour')`;

/** Registered only where the schedulers run (worker, or api in embedded mode). */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHeartbeat.name);
  private readonly id = `${hostname()}:${process.pid}`;
  private readonly startedAt = new Date();
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), BEAT_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ds.query('DELETE FROM worker_heartbeats WHERE worker_id = $1', [this.id]).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.ds.query(
        `INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, beat_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (worker_id) DO UPDATE SET beat_at = now()`,
        [this.id, hostname(), process.pid, this.startedAt],
      );
    } catch (err) {
      this.logger.warn({ err }, 'Heartbeat failed');
    }
  }
}
