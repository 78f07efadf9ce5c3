import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsString, IsUUID, MaxLength } from 'class-validator';
import { BILLING_CYCLES, BillingCycle } from '@torgovo/plans';
import { CRYPTO_CURRENCIES, CryptoCurrency } from '../crypto/crypto-currencies';
import { PaymentPlanSummary } from './payment-response';
import { IsOptional, PageResponse } from '@torgovo/core';

const upper = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim().toUpperCase() : value);

export class InitializeCryptoPaymentDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  plan_id: string;

  @ApiProperty({ enum: CRYPTO_CURRENCIES })
  @Transform(upper) @IsIn(CRYPTO_CURRENCIES)
  crypto_currency: CryptoCurrency;

  @ApiPropertyOptional({ description: 'BTC: Bitcoin; ETH: ERC20; USDT: TRC20 (default) or ERC20; USDC: ERC20; SOL: Solana; BNB: BSC' })
  @IsOptional() @IsString() @MaxLength(32)
  network?: string;

  @ApiPropertyOptional({ enum: BILLING_CYCLES, default: 'monthly' })
  @IsOptional() @IsIn(BILLING_CYCLES)
  billing_cycle?: BillingCycle;

  @ApiPropertyOptional({ default: true, description: 'A renewal payment is requested before each period ends' })
  @IsOptional() @IsBoolean()
  auto_renew?: boolean;
}

export class CoinGateCheckoutDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  plan_id: string;

  @ApiPropertyOptional({ enum: BILLING_CYCLES, default: 'monthly' })
  @IsOptional() @IsIn(BILLING_CYCLES)
  billing_cycle?: BillingCycle;

  @ApiPropertyOptional({ default: true })
  @IsOptional() @IsBoolean()
  auto_renew?: boolean;
}

export class AssignDepositDto {
  @ApiProperty({ format: 'uuid', description: 'The OKX payment this deposit pays' })
  @IsUUID()
  payment_id: string;
}

export class PlanSummaryDto implements PaymentPlanSummary {
  @ApiProperty() id: string;
  @ApiProperty() code: string;
  @ApiProperty() name: string;
  @ApiProperty() plan_type: string;
}

export class CryptoPaymentInstructionsResponse {
  @ApiProperty({ format: 'uuid' }) payment_id: string;
  @ApiProperty({ format: 'uuid' }) subscription_id: string;
  @ApiProperty({ enum: ['subscription', 'renewal'] }) kind: string;
  @ApiProperty({ example: 'TXa1b2c3...' }) deposit_address: string;
  @ApiProperty({ type: String, nullable: true, description: 'Memo/tag to send with the deposit, when the network needs one' }) deposit_tag: string | null;
  @ApiProperty({ example: 'TRC20' }) network: string;
  @ApiProperty({ example: 'USDT' }) crypto_currency: string;
  @ApiProperty({ example: '29.000417', description: 'Send exactly this amount: it identifies your payment' }) crypto_amount: string;
  @ApiProperty({ example: '29.00' }) amount_usd: string;
  @ApiProperty() expires_in_seconds: number;
  @ApiProperty() expires_at: string;
  @ApiProperty() instructions: string;
}

export class CryptoPaymentStatusResponse {
  @ApiProperty({ format: 'uuid' }) payment_id: string;
  @ApiProperty({ enum: ['pending', 'completed', 'expired', 'failed'] }) status: 'pending' | 'completed' | 'expired' | 'failed';
  @ApiProperty() confirmed: boolean;
  @ApiProperty({ type: PlanSummaryDto, nullable: true }) plan: PlanSummaryDto | null;
  @ApiProperty({ type: String, nullable: true }) tx_hash: string | null;
  @ApiProperty({ type: String, nullable: true }) received_amount: string | null;
  @ApiProperty({ enum: ['okx', 'coingate'] }) provider: string;
  @ApiProperty({ type: String, nullable: true }) crypto_currency: string | null;
  @ApiProperty({ type: String, nullable: true }) crypto_amount: string | null;
  @ApiProperty({ type: String, nullable: true }) network: string | null;
  @ApiProperty({ type: String, nullable: true }) deposit_address: string | null;
  @ApiProperty({ type: String, nullable: true }) deposit_tag: string | null;
  @ApiProperty() amount_usd: string;
  @ApiProperty({ type: String, nullable: true }) expires_at: string | null;
  @ApiProperty({ type: String, nullable: true }) confirmed_at: string | null;
  @ApiProperty({ type: String, nullable: true }) failure_reason: string | null;
}

export class CoinGateCheckoutResponse {
  @ApiProperty({ format: 'uuid' }) payment_id: string;
  @ApiProperty({ format: 'uuid' }) subscription_id: string;
  @ApiProperty() payment_url: string;
}

export class CallbackResponse {
  @ApiProperty({ enum: ['completed', 'failed', 'unchanged'] }) outcome: 'completed' | 'failed' | 'unchanged';
}

export class UnmatchedDepositResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() dep_id: string;
  @ApiProperty() tx_id: string;
  @ApiProperty() crypto_currency: string;
  @ApiProperty() chain: string;
  @ApiProperty() amount: string;
  @ApiProperty() to_address: string;
  @ApiProperty({ type: String, nullable: true }) tag: string | null;
  @ApiProperty() state: string;
  @ApiProperty() deposited_at: string;
  @ApiProperty() first_seen_at: string;
}

export class AssignDepositResponse {
  @ApiProperty({ format: 'uuid' }) deposit_id: string;
  @ApiProperty({ format: 'uuid' }) payment_id: string;
  @ApiProperty({ enum: ['completed'] }) status: 'completed';
  @ApiProperty({ type: String, nullable: true }) subscription_id: string | null;
}

export class UnmatchedDepositPage extends PageResponse {
  items: UnmatchedDepositResponse[];
}

