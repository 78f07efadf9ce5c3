import { plainToInstance, Transform } from 'class-transformer';
import { IsInt, Max, Min, validateSync } from 'class-validator';
import { ConfigError } from '@torgovo/core';

const toInt = ({ value }: { value: unknown }): unknown =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;

/**
 * Billing knobs, validated once at start like the core config (variable names are the
 * property names, so an error names the variable). Kept here until core's EnvSchema owns them.
 */
export class BillingConfig {
  /** A renewable subscription stays past_due (with access) this long after end_date. */
  @Transform(toInt) @IsInt() @Min(0) @Max(60)
  BILLING_GRACE_DAYS = 3;

  /** Crypto renewal payment requests are created this many days before end_date. */
  @Transform(toInt) @IsInt() @Min(0) @Max(60)
  BILLING_RENEWAL_LEAD_DAYS = 3;

  /** A pending_payment subscription nobody paid is expired after this many hours. */
  @Transform(toInt) @IsInt() @Min(1) @Max(24 * 90)
  BILLING_PENDING_TTL_HOURS = 72;

  /** Rows per transaction in a sweep. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  BILLING_SWEEP_BATCH = 1000;

  /** 0 disables the timer (tests drive the sweeps by hand). */
  @Transform(toInt) @IsInt() @Min(0) @Max(86_400)
  BILLING_SWEEP_INTERVAL_SECONDS = 60;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): BillingConfig {
    const raw: Record<string, string> = {};
    for (const key of Object.keys(new BillingConfig())) {
      const v = env[key];
      if (v !== undefined) raw[key] = v;
    }
    const parsed = plainToInstance(BillingConfig, raw, { exposeDefaultValues: true });
    const errors = validateSync(parsed);
    if (errors.length > 0) {
      const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
      throw new ConfigError(errors.map((e) => e.property), `Invalid configuration:\n  ${lines.join('\n  ')}`);
    }
    return parsed;
  }

  get graceMs(): number {
    return this.BILLING_GRACE_DAYS * 86_400_000;
  }
}
