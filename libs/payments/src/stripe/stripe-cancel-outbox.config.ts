import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';

/** The Stripe outbox job (cancellations, erased accounts' customers), validated once at start (variable names are the property names). */
export class StripeCancelOutboxConfig {
  /** Seconds between runs; 0 disables the timer (tests drive it by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS = 30;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): StripeCancelOutboxConfig {
    return loadEnvSection(StripeCancelOutboxConfig, env);
  }
}
