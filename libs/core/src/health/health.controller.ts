import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/decorators';
import { ApiErrors } from '../openapi/api-errors';
import { readHealthFlags } from './health-flags';
import { HealthResponse } from './health.response';
import { WORKER_STALE_SECONDS } from './heartbeat.service';


@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /** Liveness: 503 only when the database is down; a missing worker is reported but does not fail the api replica. */
  @Public()
  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({ type: HealthResponse })
  @ApiErrors({ 503: ['service_unavailable'] })
  check() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: 2000 }), () => this.workers(), () => this.alerts()]);
  }

  private async workers() {
    const indicator = this.indicators.check('worker');
    try {
      const rows = (await this.ds.query(
        `SELECT count(*) FILTER (WHERE beat_at > now() - make_interval(secs => $1))::int AS alive,
                EXTRACT(EPOCH FROM now() - max(beat_at))::float AS last_beat_age_s
           FROM worker_heartbeats`,
        [WORKER_STALE_SECONDS],
      )) as Array<{ alive: number; last_beat_age_s: number | null }>;
      const { alive, last_beat_age_s } = rows[0];
      return indicator.up({ alive, state: alive > 0 ? 'up' : 'down', last_beat_age_s: last_beat_age_s === null ? null : Math.round(last_beat_age_s) });
    } catch {
      return indicator.up({ alive: 0, state: 'unknown' });
    }
  }

  /**
   * What the workers' watchdogs raised (health_flags): state `alert` while any flag is up. Reported,
   * like a missing worker, without failing the api replica's liveness.
   */
  private async alerts() {
    const indicator = this.indicators.check('alerts');
    try {
      const flags = await readHealthFlags(this.ds);
      const raised = flags.filter((f) => f.raised);
      return indicator.up({
        state: raised.length > 0 ? 'alert' : 'ok',
        raised: raised.map((f) => f.name),
        flags: Object.fromEntries(
          flags.map((f) => [f.name, { raised: f.raised, raised_at: f.raised_at?.toISOString() ?? null, checked_at: f.checked_at.toISOString(), ...f.details }]),
        ),
      });
    } catch {
      return indicator.up({ state: 'unknown', raised: [] });
    }
  }
}
