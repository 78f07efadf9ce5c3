import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsNumberString, IsOptional, IsString, Max, Min } from 'class-validator';
import { envBool, envInt, loadEnvSection } from '@torgovo/core';

/** Crypto payment knobs (the OKX admin keys and COINGATE_API_TOKEN live in the core config). */
export class CryptoPaymentsConfig {
  /** An unpaid crypto payment expires after this many minutes (DESIGN: 2 hours). */
  @Transform(envInt) @IsInt() @Min(5) @Max(24 * 60)
  CRYPTO_PAYMENT_TTL_MINUTES = 120;

  /**
   * A subscription a crypto payment is quoted for is not expired by the billing sweeps until the
   * quote's expiry plus this many hours: a deposit sent in time may be credited later (network
   * confirmations), and must still find its subscription to activate or renew. No access is given
   * meanwhile: access follows the subscription's own dates.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(24 * 30)
  CRYPTO_PAYMENT_HOLD_HOURS = 24;

  /** A deposit within this percentage of the asked amount (either way) settles the payment. */
  @IsNumberString()
  CRYPTO_AMOUNT_TOLERANCE_PCT = '2';

  /** Also match deposits OKX reports as credited (state 1), not only successful (state 2). */
  @Transform(envBool) @IsBoolean()
  CRYPTO_MATCH_CREDITED = false;

  /** PaymentChecker period; 0 disables the timer (tests drive it by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(3600)
  PAYMENT_CHECKER_INTERVAL_SECONDS = 60;

  /** Deposits claimed per matching statement. */
  @Transform(envInt) @IsInt() @Min(1) @Max(5000)
  CRYPTO_MATCH_BATCH = 500;

  /** How far back the first poll (and a deposit stuck unconfirmed) is looked for. */
  @Transform(envInt) @IsInt() @Min(1) @Max(24 * 30)
  CRYPTO_DEPOSIT_LOOKBACK_HOURS = 72;

  /** Where CoinGate sends the payer back; default PUBLIC_URL/billing/... */
  @IsOptional() @IsString()
  COINGATE_SUCCESS_URL?: string;

  @IsOptional() @IsString()
  COINGATE_CANCEL_URL?: string;

  /** What CoinGate settles to (`DO_NOT_CONVERT` keeps the coin paid). */
  @IsString()
  COINGATE_RECEIVE_CURRENCY = 'DO_NOT_CONVERT';

  static fromEnv(env: NodeJS.ProcessEnv = process.env): CryptoPaymentsConfig {
    return loadEnvSection(CryptoPaymentsConfig, env);
  }

  get ttlMs(): number {
    return this.CRYPTO_PAYMENT_TTL_MINUTES * 60_000;
  }

  /** Until when a quote expiring at `expiresAt` keeps its subscription from the sweeps. */
  holdUntil(expiresAt: Date): Date {
    return new Date(expiresAt.getTime() + this.CRYPTO_PAYMENT_HOLD_HOURS * 3_600_000);
  }

  /** The most a quote's hold reaches past its subscription's own deadline: one quote's life and the crediting allowance. */
  get holdCapMs(): number {
    return this.ttlMs + this.CRYPTO_PAYMENT_HOLD_HOURS * 3_600_000;
  }

  /** OKX deposit states that settle a payment. */
  get creditedStates(): string[] {
    return this.CRYPTO_MATCH_CREDITED ? ['1', '2'] : ['2'];
  }
}
