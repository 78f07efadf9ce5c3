import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';


/**
 * Billing knobs, validated once at start like the core config (variable names are the
 * property names, so an error names the variable). Kept here until core's EnvSchema owns them.
 */
export class BillingConfig {
  /** A renewable subscription stays past_due (with access) this long after end_date. */
  @Transform(envInt) @IsInt() @Min(0) @Max(60)
  BILLING_GRACE_DAYS = 3;

  /** Crypto renewal payment requests are created this many days before end_date. */
  @Transform(envInt) @IsInt() @Min(0) @Max(60)
  BILLING_RENEWAL_LEAD_DAYS = 3;

  /** A pending_payment subscription nobody paid is expired after this many hours. */
  @Transform(envInt) @IsInt() @Min(1) @Max(24 * 90)
  BILLING_PENDING_TTL_HOURS = 72;

  /** Rows per transaction in a sweep. */
  @Transform(envInt) @IsInt() @Min(1) @Max(10_000)
  BILLING_SWEEP_BATCH = 1000;

  /** 0 disables the timer (tests drive the sweeps by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  BILLING_SWEEP_INTERVAL_SECONDS = 60;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): BillingConfig {
    return loadEnvSection(BillingConfig, env);
  }

  get graceMs(): number {
    return this.BILLING_GRACE_DAYS * 86_400_000;
  }
}
