import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';

/** Live updates (WebSocket), the user-event feed and the Telegram channel. */
export class NotificationsConfig {
  /** How long user events are kept for `resume` (and for the notification fan-out to catch up). */
  @Transform(envInt) @IsInt() @Min(24) @Max(24 * 90)
  USER_EVENTS_RETENTION_HOURS = 48;

  /** Each api replica reads the feed this often while sockets are open (NOTIFY wakes it sooner). */
  @Transform(envInt) @IsInt() @Min(100) @Max(60_000)
  WS_POLL_INTERVAL_MS = 1000;

  /** Open sockets are re-checked this often: user still active, personal token not revoked, access token not expired. */
  @Transform(envInt) @IsInt() @Min(1) @Max(3600)
  WS_REVALIDATE_SECONDS = 30;

  /** A socket that has not authenticated within this time is closed (4001). */
  @Transform(envInt) @IsInt() @Min(1) @Max(300)
  WS_AUTH_TIMEOUT_SECONDS = 10;

  /** NotificationFanout (user events → outbox) period; 0 disables the timer (tests drive it by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(3600)
  NOTIFICATION_FANOUT_INTERVAL_SECONDS = 5;

  /** "Subscription ends in 3 days" notices; 0 disables the timer. */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  EXPIRY_NOTICE_INTERVAL_SECONDS = 3600;

  /** The platform's Telegram bot; unset = the Telegram channel is off. */
  @IsOptional() @IsString()
  TELEGRAM_BOT_TOKEN?: string = undefined;

  /** Bot API base URL (a local fake in tests). */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  TELEGRAM_API_URL = 'https://api.telegram.org';

  /** Shown to users with their link code; asked from the Bot API (getMe) when unset. */
  @IsOptional() @IsString()
  TELEGRAM_BOT_USERNAME?: string = undefined;

  /** getUpdates (link codes) and Telegram sending period; 0 disables both timers. */
  @Transform(envInt) @IsInt() @Min(0) @Max(3600)
  TELEGRAM_INTERVAL_SECONDS = 5;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
    return loadEnvSection(NotificationsConfig, env);
  }
}
