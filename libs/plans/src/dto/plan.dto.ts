import { Transform } from 'class-transformer';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsOptional, IsOptionalOrNull, PageQuery } from '@torgovo/core';
import { PLAN_TYPES, PlanType } from '../plan-types';

// Decimal strings, never JS numbers: a price fits numeric(12,2), a percentage numeric(7,4) ≤ 100.
const PRICE = /^(0|[1-9]\d{0,7})(\.\d{1,2})?$/;
const PERCENT = /^(100(\.0{1,4})?|(0|[1-9]\d?)(\.\d{1,4})?)$/;
const CODE = /^[a-z][a-z0-9_]{1,63}$/;
const PRICE_MESSAGE = 'must be a decimal string with at most 2 decimals, between 0 and 99999999.99';
const PERCENT_MESSAGE = 'must be a decimal string between 0 and 100 with at most 4 decimals';

export class ListPlansQuery extends PageQuery {
  @ApiPropertyOptional({ enum: PLAN_TYPES })
  @IsOptional() @IsIn(PLAN_TYPES)
  plan_type?: PlanType;
}

export class AdminListPlansQuery extends ListPlansQuery {
  @ApiPropertyOptional({ description: 'only active (true) or deactivated (false) plans; both when omitted' })
  @IsOptional() @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)) @IsBoolean()
  is_active?: boolean;
}

export class CreatePlanDto {
  @ApiProperty({ example: 'pro_plus' })
  @IsString() @Matches(CODE, { message: 'code must be 2-64 lowercase letters, digits or underscores, starting with a letter' })
  code: string;

  @ApiProperty({ enum: PLAN_TYPES })
  @IsIn(PLAN_TYPES)
  plan_type: PlanType;

  @ApiProperty({ example: 'Pro Plus' })
  @IsString() @Length(1, 100)
  name: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(2000)
  description?: string;

  @ApiProperty({ example: '49.00' })
  @IsString() @Matches(PRICE, { message: `monthly_price ${PRICE_MESSAGE}` })
  monthly_price: string;

  @ApiProperty({ example: '490.00' })
  @IsString() @Matches(PRICE, { message: `yearly_price ${PRICE_MESSAGE}` })
  yearly_price: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @MaxLength(200, { each: true })
  features?: string[];

  @ApiPropertyOptional({ type: 'integer', nullable: true, description: 'null = unlimited' })
  @IsOptionalOrNull() @IsInt() @Min(0) @Max(10000)
  max_bots?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, description: 'null = unlimited' })
  @IsOptionalOrNull() @IsInt() @Min(0) @Max(10000)
  max_trading_pairs?: number | null;

  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  live_trading?: boolean;

  @ApiPropertyOptional({ description: 'personal access tokens (the REST API) are included' })
  @IsOptional() @IsBoolean()
  api_access?: boolean;

  @ApiPropertyOptional()
  @IsOptional() @IsInt() @Min(0) @Max(365)
  trial_days?: number;

  @ApiPropertyOptional({ type: String, nullable: true, example: '3', description: 'percent, decimal string; managed_bot plans only' })
  @IsOptionalOrNull() @IsString() @Matches(PERCENT, { message: `guaranteed_monthly_return ${PERCENT_MESSAGE}` })
  guaranteed_monthly_return?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: '20', description: 'percent, decimal string; required for managed_bot plans' })
  @IsOptionalOrNull() @IsString() @Matches(PERCENT, { message: `profit_share_percentage ${PERCENT_MESSAGE}` })
  profit_share_percentage?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptionalOrNull() @IsString() @MaxLength(255)
  stripe_monthly_price_id?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptionalOrNull() @IsString() @MaxLength(255)
  stripe_yearly_price_id?: string | null;

  @ApiPropertyOptional()
  @IsOptional() @IsInt() @Min(0) @Max(1_000_000)
  sort_order?: number;
}

/**
 * code and plan_type are fixed at creation: subscriptions carry plan_type denormalized
 * (and a foreign key on it). IsOptional lets null through, which clears the nullable fields.
 */
export class UpdatePlanDto extends PartialType(OmitType(CreatePlanDto, ['code', 'plan_type'] as const)) {
  @ApiPropertyOptional({ description: 'false deactivates, true reactivates' })
  @IsOptional() @IsBoolean()
  is_active?: boolean;
}
