import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '../config/app-config';

/** How long operational rows are kept, validated once at start (variable names are the property names). */
export class RetentionConfig {
  /** Minutes between retention sweeps; 0 disables the timer (tests drive it by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(7 * 24 * 60)
  RETENTION_INTERVAL_MINUTES = 60;

  /** Rows deleted per statement: short locks, small WAL bursts. */
  @Transform(envInt) @IsInt() @Min(1) @Max(100_000)
  RETENTION_BATCH = 5000;

  /** Batches per policy per sweep, so one sweep stays short; the rest waits for the next one. */
  @Transform(envInt) @IsInt() @Min(1) @Max(10_000)
  RETENTION_MAX_BATCHES = 200;

  /**
   * Webhook request log (GET /custom-bot/webhooks/{id}/events) and the alert_id duplicate
   * claims of those requests: an alert_id is recognised as a repeat for this many days.
   */
  @Transform(envInt) @IsInt() @Min(2) @Max(3650)
  WEBHOOK_EVENT_RETENTION_DAYS = 90;

  /** Processed payment-provider events (dedupe by event id; Stripe stops retrying after 3 days). */
  @Transform(envInt) @IsInt() @Min(7) @Max(3650)
  PROCESSED_EVENT_RETENTION_DAYS = 90;

  /** Refresh tokens are deleted this many days after they expire (used, revoked or not). */
  @Transform(envInt) @IsInt() @Min(0) @Max(3650)
  REFRESH_TOKEN_RETENTION_DAYS = 7;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
    return loadEnvSection(RetentionConfig, env);
  }

  /** `now` minus whole days. */
  static before(now: Date, days: number): Date {
    return new Date(now.getTime() - days * 86_400_000);
  }
}
