import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery } from '@torgovo/core';
import { BotsService, BotWithCounters } from './bots.service';
import { BotPage, BotResponse, CreateBotDto, toBotResponse } from './dto/create-bot.dto';
import { CloseBotResponse, UpdateBotDto } from './dto/update-bot.dto';

const MAY_RUN = { 403: ['no_active_subscription', 'plan_limit', 'live_trading_not_allowed'], 400: ['exchange_not_connected'] } as const;

const toResponse = (r: BotWithCounters): BotResponse => toBotResponse(r.bot, r.counters);

@ApiTags('bots')
@Controller('bots')
export class BotsController {
  constructor(private readonly bots: BotsService) {}

  /** A new bot is running. */
  @Post()
  @ApiErrors({ ...MAY_RUN, 400: [...MAY_RUN[400], 'unknown_symbol'], 503: ['markets_unavailable'] })
  async create(@Body() dto: CreateBotDto, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.create(user.id, dto));
  }

  /** The user's bots with their counters. */
  @Get()
  async list(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<BotPage> {
    const result = await this.bots.list(user.id, q);
    return { ...result, items: result.items.map(toResponse) };
  }

  /** One bot with its counters. */
  @Get(':id')
  @ApiErrors({ 404: ['not_found'] })
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.get(user.id, id));
  }

  /** Plan limits are checked again. */
  @Post(':id/start')
  @HttpCode(200)
  @ApiErrors({ ...MAY_RUN, 404: ['not_found'] })
  async start(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.start(user.id, id));
  }

  /** Stops the bot (stop_reason user); its webhook then answers 403 bot_stopped. */
  @Post(':id/stop')
  @HttpCode(200)
  @ApiErrors({ 404: ['not_found'] })
  async stop(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.stop(user.id, id));
  }

  /**
   * Edits the bot; its webhook URL and secret are kept. Symbol and mode only while it is stopped
   * (409 bot_running) and flat (409 bot_has_position); validated as on creation.
   */
  @Patch(':id')
  @ApiErrors({ ...MAY_RUN, 400: [...MAY_RUN[400], 'unknown_symbol', 'validation_failed'], 404: ['not_found'], 409: ['bot_running', 'bot_has_position'], 503: ['markets_unavailable'] })
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateBotDto, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.update(user.id, id, dto));
  }

  /**
   * Closes the bot's position now: a market sell sized from its position when sent (a fill that lands
   * before is sold too). A second click while the close waits returns the same order. 422 no_position.
   */
  @Post(':id/close')
  @HttpCode(202)
  @ApiErrors({ 404: ['not_found'], 422: ['no_position'] })
  async close(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<CloseBotResponse> {
    return this.bots.close(user.id, id);
  }

  /** Stops the bot and deactivates its webhook; its orders are kept. */
  @Delete(':id')
  @HttpCode(204)
  @ApiErrors({ 404: ['not_found'] })
  async remove(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<void> {
    await this.bots.remove(user.id, id);
  }
}
