import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsUUID } from 'class-validator';
import { IsOptional } from '@torgovo/core';
import { BILLING_CYCLES, BillingCycle } from '@torgovo/plans';
import { PAYMENT_METHODS, PaymentMethod } from '../subscription-states';

export class CreateSubscriptionDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  plan_id: string;

  @ApiProperty({ enum: BILLING_CYCLES })
  @IsIn(BILLING_CYCLES)
  billing_cycle: BillingCycle;

  @ApiProperty({ enum: PAYMENT_METHODS, description: 'none only for free plans and trials' })
  @IsIn(PAYMENT_METHODS)
  payment_method: PaymentMethod;

  @ApiPropertyOptional({ default: true })
  @IsOptional() @IsBoolean()
  auto_renew?: boolean;
}

export class UpdateSubscriptionDto {
  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  auto_renew?: boolean;

  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  cancel_at_period_end?: boolean;
}
