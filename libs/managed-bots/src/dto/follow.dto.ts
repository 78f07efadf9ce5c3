import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsString, IsUUID, Matches, ValidateIf } from 'class-validator';
import { Decimal, IsOptional, toDecimalString } from '@torgovo/core';
import type { ManagedBotFollow } from '../entities/managed-bot-follow.entity';
import { POSITIVE_DECIMAL } from './managed-bot.dto';

const PCT = /^\d{1,2}(\.\d{1,3})?$/;

export class SubscribeDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  managed_bot_id: string;

  @ApiProperty({ example: '1000', description: 'decimal string, in the quote currency (USDT)' })
  @IsString() @Matches(POSITIVE_DECIMAL, { message: 'investment must be a positive decimal string' })
  investment: string;

  @ApiPropertyOptional({ enum: ['live', 'paper'], default: 'live' })
  @IsOptional() @IsIn(['live', 'paper'])
  mode?: 'live' | 'paper';

  @ApiPropertyOptional({ example: '1', description: 'percent, 0.1–3 (default 1): a follower order further than this from the lead price is skipped' })
  @IsOptional() @IsString() @Matches(PCT, { message: 'max_slippage_pct must be a decimal string' })
  max_slippage_pct?: string;

  @ApiPropertyOptional({ example: '70', description: 'percent of the investment: below this equity everything is closed and copying stops' })
  @IsOptional() @IsString() @Matches(PCT, { message: 'stop_loss_pct must be a decimal string' })
  stop_loss_pct?: string;
}

export class UnsubscribeDto {
  @ApiPropertyOptional({ default: false, description: 'true: sell what this follow holds; false: leave the positions on the account' })
  @IsOptional() @IsBoolean()
  close_positions?: boolean;
}

export class UpdateFollowDto {
  @ApiPropertyOptional({ example: '0.5' })
  @IsOptional() @IsString() @Matches(PCT, { message: 'max_slippage_pct must be a decimal string' })
  max_slippage_pct?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: '70', description: 'null turns the portfolio stop-loss off' })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @Matches(PCT, { message: 'stop_loss_pct must be a decimal string' })
  stop_loss_pct?: string | null;
}

export class InvestmentDto {
  @ApiProperty({ example: '500', description: 'decimal string: positive tops up, negative withdraws' })
  @IsString() @Matches(/^-?\d{1,13}(\.\d{1,18})?$/, { message: 'amount must be a decimal string such as "500" or "-200"' })
  amount: string;
}

export class ProfitShareSettlementResponse {
  period_start: Date;
  period_end: Date;
  kind: 'monthly' | 'unsubscribe';
  /** Decimal strings. */
  equity: string;
  high_water_mark_before: string;
  high_water_mark_after: string;
  owed: string;
  payment_id: string | null;
}

export class FollowResponse {
  id: string;
  managed_bot_id: string;
  mode: 'paper' | 'live';
  exchange: string;
  status: 'active' | 'ended';
  end_reason: string | null;
  initial_investment: string;
  investment: string;
  /** An equity level: profit share is owed on equity above it. */
  high_water_mark: string;
  max_slippage_pct: string;
  stop_loss_pct: string | null;
  profit_share_percentage: string;
  started_at: Date;
  ended_at: Date | null;
  /** The settlement made when this follow ended (unsubscribe), if any. */
  settlement?: ProfitShareSettlementResponse | null;
}

export function toFollowResponse(f: ManagedBotFollow, settlement?: ProfitShareSettlementResponse | null): FollowResponse {
  return {
    id: f.id,
    managed_bot_id: f.managed_bot_id,
    mode: f.mode,
    exchange: f.exchange,
    status: f.status,
    end_reason: f.end_reason,
    initial_investment: toDecimalString(f.initial_investment),
    investment: toDecimalString(f.investment),
    high_water_mark: toDecimalString(f.high_water_mark),
    max_slippage_pct: toDecimalString(f.max_slippage_pct),
    stop_loss_pct: f.stop_loss_pct === null ? null : toDecimalString(f.stop_loss_pct),
    profit_share_percentage: toDecimalString(f.profit_share_pct),
    started_at: f.started_at,
    ended_at: f.ended_at,
    ...(settlement !== undefined ? { settlement: settlement === null ? null : toSettlementResponse(settlement) } : {}),
  };
}

export function toSettlementResponse(l: ProfitShareSettlementResponse): ProfitShareSettlementResponse {
  return {
    period_start: l.period_start,
    period_end: l.period_end,
    kind: l.kind,
    equity: toDecimalString(l.equity),
    high_water_mark_before: toDecimalString(l.high_water_mark_before),
    high_water_mark_after: toDecimalString(l.high_water_mark_after),
    owed: new Decimal(l.owed).toFixed(2),
    payment_id: l.payment_id,
  };
}
