import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
import { adminActor } from './admin-actor';
import { CreateManagedBotDto, ManagedBotResponse, ManagedBotWebhookResponse, UpdateManagedBotDto } from './dto/managed-bot.dto';
import { ManagedSignalDto, SignalAcceptedResponse } from './dto/signal.dto';
import { ManagedBotsService } from './managed-bots.service';
import { SignalFanoutService } from './signal-fanout.service';

/** The platform's side: admins create, update and pause managed bots and send their signals. */
@ApiTags('managed bots (admin)')
@ApiBearerAuth()
@Roles('admin')
@Controller('managed-bots')
export class ManagedBotsAdminController {
  constructor(
    private readonly bots: ManagedBotsService,
    private readonly signals: SignalFanoutService,
  ) {}

  @Post()
  @ApiErrors({ 400: ['validation_failed', 'investment_out_of_range'] })
  create(@Body() dto: CreateManagedBotDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<ManagedBotResponse> {
    return this.bots.create(adminActor(user, meta), dto);
  }

  @Get(':id')
  @ApiErrors({ 404: ['not_found'] })
  get(@Param('id', ParseUUIDPipe) id: string): Promise<ManagedBotResponse> {
    return this.bots.get(id);
  }

  /** Update; `status: "paused"` stops its signals and the follower orders still pending. */
  @Patch(':id')
  @ApiErrors({ 400: ['validation_failed', 'investment_out_of_range'], 404: ['not_found'] })
  update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdateManagedBotDto,
    @CurrentUser() user: AuthUser,
    @ReqMeta() meta: RequestMeta,
  ): Promise<ManagedBotResponse> {
    return this.bots.update(adminActor(user, meta), id, dto);
  }

  /** One order per active follower, in one statement; a repeated signal_id creates nothing. */
  @Post(':id/signals')
  @HttpCode(202)
  @ApiErrors({ 400: ['validation_failed', 'unknown_symbol', 'price_required'], 404: ['not_found'], 409: ['managed_bot_paused'] })
  signal(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: ManagedSignalDto,
    @CurrentUser() user: AuthUser,
    @ReqMeta() meta: RequestMeta,
  ): Promise<SignalAcceptedResponse> {
    return this.signals.accept(id, { ...dto, source: 'api', admin: adminActor(user, meta) });
  }

  /** A new secret for the bot's TradingView alerts (POSTed to webhook_url); the old one stops working. Shown only here. */
  @Post(':id/webhook')
  @ApiErrors({ 404: ['not_found'] })
  rotateWebhook(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<ManagedBotWebhookResponse> {
    return this.bots.rotateWebhook(adminActor(user, meta), id);
  }
}
