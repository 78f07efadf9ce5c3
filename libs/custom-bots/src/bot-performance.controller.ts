import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser } from '@torgovo/core';
import { PerformanceModeQuery } from '@torgovo/trading';
import { BotPerformanceService } from './bot-performance.service';
import { BotPerformanceResponse } from './dto/bot-performance.response';

@ApiTags('bots')
@Controller('bots')
export class BotPerformanceController {
  constructor(private readonly performance: BotPerformanceService) {}

  /** The bot's position, PnL (FIFO, fees included), win rate, drawdown and daily series; another user's bot is 404. */
  @Get(':id/performance')
  @ApiErrors({ 404: ['not_found'] })
  async get(@Param('id', ParseUUIDPipe) id: string, @Query() q: PerformanceModeQuery, @CurrentUser() user: AuthUser): Promise<BotPerformanceResponse> {
    return this.performance.forBot(user.id, id, q.mode);
  }
}
