import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, Roles } from '@torgovo/core';
import { AdminOverviewResponse, DayRangeQuery, NoQuery, RevenueQuery, RevenueResponse, UserStatsResponse } from './dto/admin-stats.dto';
import { AdminStatsService } from './admin-stats.service';
import { OrderLatencyStats } from '@torgovo/trading';
import { TradingStatsLatencyQuery, TradingStatsLatencyResponse } from './dto/admin-latency.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin')
export class AdminStatsController {
  constructor(
    private readonly stats: AdminStatsService,
    private readonly latency: OrderLatencyStats,
  ) {}

  @Get('overview')
  @ApiErrors({ 400: ['validation_failed'] })
  @ApiOkResponse({ type: AdminOverviewResponse })
  overview(@Query() _none: NoQuery): Promise<AdminOverviewResponse> {
    return this.stats.overview();
  }

  /** Static path: served before /admin/users/{id}. */
  @Get('users/stats')
  @ApiOkResponse({ type: UserStatsResponse })
  users(@Query() q: DayRangeQuery): Promise<UserStatsResponse> {
    return this.stats.userStats(q);
  }

  /** The day figures, plus the order latency percentiles over the last `latency_hours` (default 24). */
  @Get('trading/stats')
  @ApiOkResponse({ type: TradingStatsLatencyResponse })
  async trading(@Query() q: TradingStatsLatencyQuery): Promise<TradingStatsLatencyResponse> {
    const { latency_hours, ...range } = q;
    const [figures, latency] = await Promise.all([this.stats.tradingStats(range), this.latency.lastHours(latency_hours ?? 24, q.mode)]);
    return { ...figures, latency };
  }

  @Get('revenue')
  @ApiOkResponse({ type: RevenueResponse })
  revenue(@Query() q: RevenueQuery): Promise<RevenueResponse> {
    return this.stats.revenue(q);
  }
}
