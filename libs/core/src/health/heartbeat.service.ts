import { hostname } from 'node:os';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const BEAT_MS = 10_000;

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
