import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';
import { ManagedBotErrors } from './errors';

const MINUTE_MS = 60_000;

/** The admin webhook's limits (property names are the variable names), validated once at start. */
export class ManagedWebhookConfig {
  /** Requests per minute from one source address to the managed-bot webhook route (before the secret is looked up); 0 = off. Same variable as custom-bot webhooks. */
  @Transform(envInt) @IsInt() @Min(0) @Max(1_000_000)
  WEBHOOK_RATE_LIMIT_PER_IP = 600;

  /** Alerts per minute to one managed bot's webhook; 0 = off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(1_000_000)
  MANAGED_WEBHOOK_RATE_LIMIT_PER_MINUTE = 120;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ManagedWebhookConfig {
    return loadEnvSection(ManagedWebhookConfig, env);
  }
}

/**
 * Rate limits of the managed bot's own TradingView webhook, as custom-bot webhooks are limited
 * (webhook-receive.service.ts in custom-bots): per-minute counters in the shared ThrottlerStorage
 * (Redis when REDIS_URL is set, so every api replica counts together), per source address before
 * the secret is looked up (a flood of guessed secrets), then per managed bot. Over a limit: 429
 * `rate_limited` with Retry-After. The counters have their own names, so managed alerts never use up
 * custom-bot webhooks' allowance or the other way round.
 */
@Injectable()
export class ManagedWebhookLimits {
  constructor(
    @InjectThrottlerStorage() private readonly throttle: ThrottlerStorage,
    private readonly config: ManagedWebhookConfig,
  ) {}

  perIp(ip: string): Promise<void> {
    return this.count('ip', ip, this.config.WEBHOOK_RATE_LIMIT_PER_IP);
  }

  perBot(managedBotId: string): Promise<void> {
    return this.count('bot', managedBotId, this.config.MANAGED_WEBHOOK_RATE_LIMIT_PER_MINUTE);
  }

  private async count(scope: 'ip' | 'bot', id: string, perMinute: number): Promise<void> {
    if (perMinute <= 0) return;
    const r = await this.throttle.increment(`managed_${scope}:${id}`, MINUTE_MS, perMinute, MINUTE_MS, `managed_webhook_${scope}`);
    if (r.isBlocked || r.totalHits > perMinute) throw ManagedBotErrors.rateLimited(scope, Math.max(1, r.isBlocked ? r.timeToBlockExpire : r.timeToExpire));
  }
}
