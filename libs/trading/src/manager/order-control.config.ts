import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { envBool, envInt, loadEnvSection } from '@torgovo/core';

/** The knobs of the user's cancels and of the order watchdog (worker), validated once at start. */
export class OrderControlConfig {
  /** false: no timers (tests drive tick() by hand); follows TRADING_MANAGER_ENABLED unless set. */
  @Transform(envBool) @IsBoolean()
  TRADING_MANAGER_ENABLED = true;

  /** How often the worker looks for open orders the user asked to cancel (they are canceled on the exchange). 0 = off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(60_000)
  TRADING_CANCEL_POLL_MS = 500;

  /** After a cancel that did not settle (exchange unreachable), how long before it is tried again. */
  @Transform(envInt) @IsInt() @Min(100) @Max(600_000)
  TRADING_CANCEL_RETRY_MS = 5_000;

  /** An order not sent this long after its alert was accepted raises the watchdog's alert. */
  @Transform(envInt) @IsInt() @Min(1) @Max(86_400)
  ORDER_WAIT_ALERT_SECONDS = 60;

  /** How often the watchdog checks waiting orders and worker heartbeats; 0 = off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(3_600)
  ORDER_WATCHDOG_INTERVAL_SECONDS = 30;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): OrderControlConfig {
    return loadEnvSection(OrderControlConfig, env);
  }
}
