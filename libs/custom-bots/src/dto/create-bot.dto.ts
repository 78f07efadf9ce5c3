import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsObject, IsString, Length, Matches, ValidateNested } from 'class-validator';
import { IsOptional, PageResponse, toDecimalString } from '@torgovo/core';
import { Bot, BOT_MODES, BOT_ORDER_TYPES, BotMode, BotOrderType, BotStatus, SIZING_TYPES, SizingType } from '../entities/bot.entity';

export class SizingDto {
  @ApiProperty({ enum: SIZING_TYPES })
  @IsIn(SIZING_TYPES)
  type: SizingType;

  /** Decimal string: quote amount, base amount, or percent (0-100] of the balance. */
  @ApiProperty({ example: '100' })
  @IsString() @Matches(/^\d{1,13}(\.\d{1,18})?$/, { message: 'value must be a decimal string such as "100" or "0.01"' })
  value: string;
}

export class CreateBotDto {
  @ApiProperty({ example: 'BTC breakout' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString() @Length(1, 100)
  name: string;

  @ApiProperty({ example: 'BTC/USDT', description: 'BTC/USDT, BTC-USDT, BTCUSDT or OKX:BTCUSDT' })
  @IsString() @Length(2, 48)
  symbol: string;

  @ApiProperty({ enum: BOT_MODES })
  @IsIn(BOT_MODES)
  mode: BotMode;

  @ApiProperty({ enum: BOT_ORDER_TYPES })
  @IsIn(BOT_ORDER_TYPES)
  order_type: BotOrderType;

  @ApiProperty({ type: SizingDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => SizingDto)
  sizing: SizingDto;

  @ApiPropertyOptional({
    default: false,
    description: "false: a fixed-size sell sells at most what this bot bought and still holds; true: it may sell the account's other coins of that currency",
  })
  @IsOptional() @IsBoolean()
  allow_selling_beyond_position?: boolean;
}

export interface BotCounters {
  signals_received: number;
  orders_created: number;
  last_signal_at: Date | null;
}

export class SizingResponse {
  type: SizingType;
  /** Decimal string: quote amount, base amount, or percent of the balance. */
  value: string;
}

export class BotResponse {
  id: string;
  name: string;
  /** The exchange's unified symbol ("BTC/USDT"). */
  symbol: string;
  mode: BotMode;
  /** "paper" for paper bots, else the connected exchange ("okx"). */
  exchange: string;
  order_type: BotOrderType;
  sizing: SizingResponse;
  /** Whether a fixed-size sell may sell more than the bot's own position (default false). */
  allow_selling_beyond_position: boolean;
  status: BotStatus;
  /** Why the bot stopped: user, exchange_disconnected, user_deactivated, subscription_<reason>, … */
  stop_reason: string | null;
  /** Requests that reached the bot's webhooks. */
  signals_received: number;
  /** Alerts accepted as orders. */
  orders_created: number;
  last_signal_at: string | null;
  created_at: string;
  updated_at: string;
}

export class BotPage extends PageResponse {
  items: BotResponse[];
}

export const NO_COUNTERS: BotCounters = { signals_received: 0, orders_created: 0, last_signal_at: null };

export function toBotResponse(b: Bot, c: BotCounters = NO_COUNTERS): BotResponse {
  return {
    id: b.id,
    name: b.name,
    symbol: b.symbol,
    mode: b.mode,
    exchange: b.exchange,
    order_type: b.order_type,
    sizing: { type: b.sizing_type, value: toDecimalString(b.sizing_value) },
    allow_selling_beyond_position: b.allow_selling_beyond_position,
    status: b.status,
    stop_reason: b.stop_reason,
    signals_received: c.signals_received,
    orders_created: c.orders_created,
    last_signal_at: c.last_signal_at?.toISOString() ?? null,
    created_at: b.created_at.toISOString(),
    updated_at: b.updated_at.toISOString(),
  };
}
