import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsString, Length, ValidateNested } from 'class-validator';
import { IsOptional } from '@torgovo/core';
import { BOT_MODES, BOT_ORDER_TYPES, BotMode, BotOrderType } from '../entities/bot.entity';
import { SizingDto } from './create-bot.dto';

/**
 * PATCH /bots/{id}: name, sizing, order_type and allow_selling_beyond_position any time (alerts
 * accepted after the change use them; orders already accepted keep what they were accepted with);
 * symbol and mode only while the bot is stopped and flat. The webhook URL and secret are kept.
 */
export class UpdateBotDto {
  @ApiPropertyOptional({ example: 'BTC breakout v2' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString() @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({ example: 'ETH/USDT', description: 'only while the bot is stopped (else 409 bot_running)' })
  @IsOptional() @IsString() @Length(2, 48)
  symbol?: string;

  @ApiPropertyOptional({ enum: BOT_MODES, description: 'only while the bot is stopped (else 409 bot_running)' })
  @IsOptional() @IsIn(BOT_MODES)
  mode?: BotMode;

  @ApiPropertyOptional({ enum: BOT_ORDER_TYPES })
  @IsOptional() @IsIn(BOT_ORDER_TYPES)
  order_type?: BotOrderType;

  @ApiPropertyOptional({ type: SizingDto })
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SizingDto)
  sizing?: SizingDto;

  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  allow_selling_beyond_position?: boolean;
}

/** POST /bots/{id}/close: the pending close order (sized from the bot's position when it is sent). */
export class CloseBotResponse {
  order_id: string;
}
