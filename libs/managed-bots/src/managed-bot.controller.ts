import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors, AuthUser, CurrentUser, Public } from '@torgovo/core';
import { validateSync } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { FollowResponse, InvestmentDto, SubscribeDto, UnsubscribeDto, UpdateFollowDto } from './dto/follow.dto';
import { ManagedAlertDto } from './dto/managed-alert.dto';
import { AvailableManagedBotResponse } from './dto/managed-bot.dto';
import { FollowerPerformanceResponse, FollowerTradesResponse } from './dto/performance.dto';
import { ManagedSignalDto, SignalAcceptedResponse } from './dto/signal.dto';
import { ManagedBotErrors, ManagedRateLimitedError } from './errors';
import { FollowerReportsService } from './follower-reports.service';
import { FollowsService } from './follows.service';
import { ManagedBotsService } from './managed-bots.service';
import { ManagedWebhookLimits } from './managed-webhook-limits';
import { SignalFanoutService } from './signal-fanout.service';

/** Followers' side of managed bots; ownership is checked in the services (another user's follow is 404). */
@ApiTags('managed bots')
@Controller('managed-bot')
export class ManagedBotController {
  constructor(
    private readonly bots: ManagedBotsService,
    private readonly follows: FollowsService,
    private readonly reports: FollowerReportsService,
    private readonly signals: SignalFanoutService,
    private readonly limits: ManagedWebhookLimits,
  ) {}

  /** Every managed bot with its track record (the followers' FIFO performance). */
  @Public()
  @Get('available')
  available(): Promise<AvailableManagedBotResponse[]> {
    return this.bots.available();
  }

  /**
   * Follow a managed bot: needs an active managed_bot subscription; live needs a connected exchange and the investment within its free USDT.
   * 409 orders_in_progress: the user's last follow of this bot still has orders under way (its positions being closed).
   */
  @Post('subscribe')
  @ApiErrors({
    400: ['validation_failed', 'exchange_not_connected', 'investment_out_of_range', 'insufficient_balance'],
    403: ['no_active_subscription', 'plan_limit', 'live_trading_not_allowed'],
    404: ['not_found'],
    409: ['already_following', 'managed_bot_paused', 'orders_in_progress'],
    503: ['exchange_unavailable'],
  })
  subscribe(@Body() dto: SubscribeDto, @CurrentUser() user: AuthUser): Promise<FollowResponse> {
    return this.follows.subscribe(user.id, dto);
  }

  /** The user's follows (active and ended), newest first. */
  @Get('follows')
  list(@CurrentUser() user: AuthUser): Promise<FollowResponse[]> {
    return this.follows.list(user.id);
  }

  /** Per followed bot: FIFO performance, profit share accrued and paid, the high-water mark, monthly returns against the plan's guarantee. */
  @Get('performance')
  performance(@CurrentUser() user: AuthUser): Promise<FollowerPerformanceResponse[]> {
    return this.reports.performanceOf(user.id);
  }

  /** Stop copying: settles the profit share of the month so far; close_positions sells what the follow holds. */
  @Post(':id/unsubscribe')
  @HttpCode(200)
  @ApiErrors({ 404: ['not_found'] })
  unsubscribe(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UnsubscribeDto, @CurrentUser() user: AuthUser): Promise<FollowResponse> {
    return this.follows.unsubscribe(user.id, id, dto ?? {});
  }

  /** The follower's protections: max entry slippage (0.1–3 %) and portfolio stop-loss. */
  @Patch(':id/follow')
  @ApiErrors({ 400: ['validation_failed'], 404: ['not_found'] })
  update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateFollowDto, @CurrentUser() user: AuthUser): Promise<FollowResponse> {
    return this.follows.update(user.id, id, dto);
  }

  /** Top up (positive) or withdraw (negative): the high-water mark moves so no one pays a share on their own money. */
  @Post(':id/investment')
  @HttpCode(200)
  @ApiErrors({ 400: ['validation_failed', 'investment_out_of_range', 'insufficient_balance', 'exchange_not_connected'], 404: ['not_found'], 503: ['exchange_unavailable'] })
  investment(@Param('id', ParseUUIDPipe) id: string, @Body() dto: InvestmentDto, @CurrentUser() user: AuthUser): Promise<FollowResponse> {
    return this.follows.changeInvestment(user.id, id, dto);
  }

  /** The truth report: per lead trade, the follower's fill, slippage, delay and fee; the settlements; totals that match the performance. */
  @Get(':id/trades')
  @ApiErrors({ 404: ['not_found'] })
  trades(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<FollowerTradesResponse> {
    return this.reports.trades(user.id, id);
  }

  /** The managed bot's own TradingView alerts (admin webhook, secret from POST /managed-bots/{id}/webhook): fanned out like a signal. */
  @Public()
  @Post('webhook/receive/:secret')
  @HttpCode(202)
  @ApiErrors({ 400: ['validation_failed', 'unknown_symbol', 'price_required'], 404: ['not_found'], 409: ['managed_bot_paused'], 429: ['rate_limited'] })
  async receive(
    @Param('secret') secret: string,
    @Body() alert: ManagedAlertDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SignalAcceptedResponse> {
    try {
      return await this.receiveAlert(secret, alert, req.ip);
    } catch (err) {
      // The error filter writes the body; the header it keeps.
      if (err instanceof ManagedRateLimitedError) void reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
  }

  private async receiveAlert(secret: string, alert: ManagedAlertDto, ip: string): Promise<SignalAcceptedResponse> {
    await this.limits.perIp(ip);
    const hook = secret.length > 0 && secret.length <= 64 ? await this.bots.webhookForSecret(secret) : null;
    if (!hook) throw ManagedBotErrors.webhookNotFound();
    await this.limits.perBot(hook.managedBotId);
    const action = alert.action === 'long' ? 'buy' : alert.action === 'short' || alert.action === 'exit' ? 'close' : alert.action;
    if (action === 'buy' && alert.fraction === undefined) throw ManagedBotErrors.badAlert('a buy alert needs a fraction');
    const signal = plainToInstance(ManagedSignalDto, {
      action,
      symbol: alert.ticker,
      fraction: alert.fraction ?? '1',
      ...(alert.price !== undefined ? { price: alert.price } : {}),
      ...(alert.alert_id !== undefined ? { signal_id: alert.alert_id } : {}),
    });
    const errors = validateSync(signal);
    if (errors.length > 0) throw ManagedBotErrors.badAlert(errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; '));
    return this.signals.accept(hook.managedBotId, { ...signal, source: 'webhook', webhookSecretHash: hook.secretHash });
  }
}
