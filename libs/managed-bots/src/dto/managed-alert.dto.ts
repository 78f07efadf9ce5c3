import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Length } from 'class-validator';
import { IsOptional } from '@torgovo/core';

export const ALERT_ACTIONS = ['buy', 'sell', 'close', 'long', 'short', 'exit'] as const;

/** The managed bot's own TradingView alert (admin webhook). */
export class ManagedAlertDto {
  @ApiProperty({ enum: ALERT_ACTIONS, description: 'long = buy; short and exit = close (spot)' })
  @IsIn(ALERT_ACTIONS)
  action: (typeof ALERT_ACTIONS)[number];

  @ApiProperty({ example: 'BTCUSDT', description: 'BTC/USDT, BTC-USDT, BTCUSDT or OKX:BTCUSDT' })
  @IsString() @Length(2, 48)
  ticker: string;

  @ApiPropertyOptional({ example: '0.25', description: 'share of investment (buy) or position (sell); default 1 for sell, required for buy' })
  @IsOptional() @IsString()
  fraction?: string;

  @ApiPropertyOptional({ example: '65000' })
  @IsOptional() @IsString()
  price?: string;

  @ApiPropertyOptional({ example: '2026-11-25T10:00:00Z-42', description: 'idempotency key: a repeated alert_id creates nothing; without one, the same alert within MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS is a repeat' })
  @IsOptional() @IsString() @Length(1, 128)
  alert_id?: string;
}
