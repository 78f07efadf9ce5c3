import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '@torgovo/core';
import { PaperBalanceResponse } from '../gateway/paper/dto/paper-balance.response';
import { PaperBalances } from '../gateway/paper/paper-balances.service';
import { AccountPerformanceService } from './account-performance.service';
import { PerformanceModeQuery } from './dto/performance-query.dto';
import { AccountPerformanceResponse } from './dto/performance.response';

@ApiTags('performance')
@Controller()
export class PerformanceController {
  constructor(
    private readonly account: AccountPerformanceService,
    private readonly paper: PaperBalances,
  ) {}

  /** The figures of every bot and followed managed bot of the user, summed (FIFO, fees included). */
  @Get('performance')
  async performance(@Query() q: PerformanceModeQuery, @CurrentUser() user: AuthUser): Promise<AccountPerformanceResponse> {
    return this.account.forUser(user.id, q.mode);
  }

  /** The user's paper account: what each currency has free and what open limit orders reserve. */
  @Get('paper/balances')
  async paperBalances(@CurrentUser() user: AuthUser): Promise<PaperBalanceResponse[]> {
    return this.paper.list(user.id);
  }
}
