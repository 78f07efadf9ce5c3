import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page, PageQuery } from '@torgovo/core';
import { BotsService, BotWithCounters } from './bots.service';
import { BotResponse, CreateBotDto, toBotResponse } from './dto/create-bot.dto';

const toResponse = (r: BotWithCounters): BotResponse => toBotResponse(r.bot, r.counters);

@ApiTags('bots')
@ApiBearerAuth()
@Controller('bots')
export class BotsController {
  constructor(private readonly bots: BotsService) {}

  @Post()
  async create(@Body() dto: CreateBotDto, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.create(user.id, dto));
  }

  @Get()
  async list(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<Page<BotResponse>> {
    const result = await this.bots.list(user.id, q);
    return { ...result, items: result.items.map(toResponse) };
  }

  @Get(':id')
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.get(user.id, id));
  }

  @Post(':id/start')
  @HttpCode(200)
  async start(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.start(user.id, id));
  }

  @Post(':id/stop')
  @HttpCode(200)
  async stop(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<BotResponse> {
    return toResponse(await this.bots.stop(user.id, id));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<void> {
    await this.bots.remove(user.id, id);
  }
}
