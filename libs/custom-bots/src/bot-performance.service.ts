import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { figuresOf, OrderMode, PerformanceEngine, toFiguresResponse, toPositionResponse } from '@torgovo/trading';
import { BotsService } from './bots.service';
import type { BotPerformanceResponse } from './dto/bot-performance.response';

/** One bot's figures from the FIFO engine (libs/trading performance), own bots only. */
@Injectable()
export class BotPerformanceService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly bots: BotsService,
    private readonly engine: PerformanceEngine,
  ) {}

  /** `mode` defaults to the bot's current mode; another user's (or a deleted) bot is 404. */
  async forBot(userId: string, botId: string, requested?: OrderMode): Promise<BotPerformanceResponse> {
    const bot = await this.bots.find(this.ds.manager, userId, botId);
    const mode = requested ?? bot.mode;
    const figures = figuresOf(await this.engine.compute({ botIds: [bot.id], modes: [mode] }), bot.id, mode);
    const current = figures.positions.find((p) => p.symbol === bot.symbol);
    return {
      bot_id: bot.id,
      ...toFiguresResponse(figures),
      quote_currency: figures.quote_currency ?? (figures.fills === 0 ? bot.symbol.split('/')[1] : null),
      position: current
        ? toPositionResponse(current)
        : { symbol: bot.symbol, amount: '0', average_entry: null, last_price: null, unrealised_pnl: '0' },
      positions: figures.positions.map(toPositionResponse),
      unrealised_pnl: figures.unrealised_pnl,
    };
  }
}
