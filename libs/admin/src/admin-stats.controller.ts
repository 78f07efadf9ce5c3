import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, Roles } from '@torgovo/core';
import { AdminOverviewResponse, DayRangeQuery, NoQuery, RevenueQuery, RevenueResponse, TradingStatsQuery, TradingStatsResponse, UserStatsResponse } from './dto/admin-stats.dto';
import { AdminStatsService } from './admin-stats.service';

@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin')
export class AdminStatsController {
  constructor(private readonly stats: AdminStatsService) {}

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

  @Get('trading/stats')
  @ApiOkResponse({ type: TradingStatsResponse })
  trading(@Query() q: TradingStatsQuery): Promise<TradingStatsResponse> {
    return this.stats.tradingStats(q);
  }

  @Get('revenue')
  @ApiOkResponse({ type: RevenueResponse })
  revenue(@Query() q: RevenueQuery): Promise<RevenueResponse> {
    return this.stats.revenue(q);
  }
}
