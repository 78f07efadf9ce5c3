import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { IsOptional, toDecimalString } from '@torgovo/core';
import { MANAGED_BOT_STATUSES, ManagedBot, ManagedBotStatus } from '../entities/managed-bot.entity';

/** A positive decimal string below 10^13 with at most 18 decimals. */
export const POSITIVE_DECIMAL = /^(?!0+(\.0+)?$)\d{1,13}(\.\d{1,18})?$/;
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateManagedBotDto {
  @ApiProperty({ example: 'BTC trend' })
  @Transform(trim) @IsString() @Length(1, 100)
  name: string;

  @ApiPropertyOptional({ example: 'Trend following on BTC, daily candles' })
  @IsOptional() @IsString() @Length(0, 2000)
  description?: string;

  @ApiPropertyOptional({ enum: ['okx'], default: 'okx', description: 'The exchange live followers trade on' })
  @IsOptional() @IsIn(['okx'])
  exchange?: string;

  @ApiProperty({ type: [String], example: ['BTC/USDT'] })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @IsString({ each: true }) @Length(2, 48, { each: true })
  symbols: string[];

  @ApiPropertyOptional({ example: 'trend' })
  @IsOptional() @IsString() @Length(0, 64)
  strategy?: string;

  @ApiPropertyOptional({ example: '100', description: 'decimal string, quote currency; default 10' })
  @IsOptional() @IsString() @Matches(POSITIVE_DECIMAL, { message: 'min_investment must be a positive decimal string' })
  min_investment?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: '100000', description: 'decimal string; null: no maximum' })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @Matches(POSITIVE_DECIMAL, { message: 'max_investment must be a positive decimal string' })
  max_investment?: string | null;
}

export class UpdateManagedBotDto {
  @ApiPropertyOptional()
  @IsOptional() @Transform(trim) @IsString() @Length(1, 100)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @Length(0, 2000)
  description?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @IsString({ each: true }) @Length(2, 48, { each: true })
  symbols?: string[];

  @ApiPropertyOptional()
  @IsOptional() @IsString() @Length(0, 64)
  strategy?: string;

  @ApiPropertyOptional({ enum: MANAGED_BOT_STATUSES, description: 'paused: its signals and pending follower orders are not traded' })
  @IsOptional() @IsIn(MANAGED_BOT_STATUSES)
  status?: ManagedBotStatus;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @Matches(POSITIVE_DECIMAL, { message: 'min_investment must be a positive decimal string' })
  min_investment?: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @Matches(POSITIVE_DECIMAL, { message: 'max_investment must be a positive decimal string' })
  max_investment?: string | null;
}

export class ManagedBotResponse {
  id: string;
  name: string;
  description: string;
  exchange: string;
  symbols: string[];
  strategy: string;
  status: ManagedBotStatus;
  /** Decimal string. */
  min_investment: string;
  /** Decimal string; null: no maximum. */
  max_investment: string | null;
  created_at: Date;
  updated_at: Date;
}

export class ManagedBotStats {
  /** Percent, decimal string: what the followers' net PnL of the last 30 days is of their investment; null: no followers. */
  return_30d: string | null;
  /** Percent, decimal string: the followers' net PnL of all time against their investment; null: no followers. */
  return_total: string | null;
  /** Percent, decimal string; null until the performance engine computes it (see README "Managed bots"). */
  max_drawdown: string | null;
  followers: number;
  /** Share of winning closed trades, decimal string; null until the performance engine computes it. */
  win_rate: string | null;
}

export class AvailableManagedBotResponse {
  id: string;
  name: string;
  description: string;
  exchange: string;
  symbols: string[];
  strategy: string;
  status: ManagedBotStatus;
  min_investment: string;
  max_investment: string | null;
  stats: ManagedBotStats;
}

export class ManagedBotWebhookResponse {
  managed_bot_id: string;
  /** POST TradingView alerts here; shown with its secret only once. */
  webhook_url: string;
  webhook_secret: string;
}

export function toManagedBotResponse(b: ManagedBot): ManagedBotResponse {
  return {
    id: b.id,
    name: b.name,
    description: b.description,
    exchange: b.exchange,
    symbols: b.symbols,
    strategy: b.strategy,
    status: b.status,
    min_investment: toDecimalString(b.min_investment),
    max_investment: b.max_investment === null ? null : toDecimalString(b.max_investment),
    created_at: b.created_at,
    updated_at: b.updated_at,
  };
}
