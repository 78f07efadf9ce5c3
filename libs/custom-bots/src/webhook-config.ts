import { BlockList, isIP } from 'node:net';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ConfigError, envInt, loadEnvSection } from '@torgovo/core';


/**
 * Webhook knobs, validated once at start like the core config (the property names are the
 * variable names). Kept here until core's EnvSchema owns them, as billing-config does.
 */
export class WebhookConfig {
  /** Requests per minute from one source address; 0 turns the per-IP limit off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(1_000_000)
  WEBHOOK_RATE_LIMIT_PER_IP = 600;

  /** Alerts per minute for all of one user's webhooks together (one user cannot crowd out the others); 0 = off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(1_000_000)
  WEBHOOK_RATE_LIMIT_PER_USER = 600;

  /** How long the same body without an alert_id counts as a repeat (TradingView retries within seconds). */
  @Transform(envInt) @IsInt() @Min(1) @Max(86_400)
  WEBHOOK_DEDUPE_WINDOW_SECONDS = 30;

  /**
   * How long the receive path keeps a webhook's lookup (WebhookTargets); 0 = look up every alert. A
   * stop, rotation or deactivation is seen at once regardless: the write statement re-checks them.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(3_600_000)
  WEBHOOK_LOOKUP_CACHE_MS = 10_000;

  /** Most webhooks kept in that cache per api process (~1 KB each). */
  @Transform(envInt) @IsInt() @Min(1) @Max(1_000_000)
  WEBHOOK_LOOKUP_CACHE_SIZE = 20_000;

  /**
   * Alerts unanswered in one api process from which it tells the workers to hold back their claims
   * (WebhookBusySignal; each worker bounds that by TRADING_INGEST_YIELD_MAX_MS); 0 = never.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(1_000_000)
  WEBHOOK_BUSY_IN_FLIGHT = 100;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
    return loadEnvSection(WebhookConfig, env);
  }
}

/** "::ffff:1.2.3.4" (IPv4 on a dual-stack socket) is 1.2.3.4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * TradingView's published webhook senders (its "About webhooks" help page). Every
 * user's alerts come from these four, so a per-address limit on them would cap the whole platform:
 * they are limited per webhook and per user only.
 */
export const TRADINGVIEW_SENDER_IPS: readonly string[] = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'];

export function isTradingViewSender(ip: string): boolean {
  return TRADINGVIEW_SENDER_IPS.includes(normalizeIp(ip));
}

/** WEBHOOK_IP_ALLOWLIST entries are addresses or CIDR ranges; empty = everyone may send. */
export class IpAllowlist {
  private readonly list = new BlockList();
  readonly enabled: boolean;

  constructor(entries: readonly string[]) {
    this.enabled = entries.length > 0;
    for (const entry of entries) {
      const [addr, bits] = entry.split('/');
      const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (isIP(addr) === 0) throw new ConfigError(['WEBHOOK_IP_ALLOWLIST'], `Invalid configuration: WEBHOOK_IP_ALLOWLIST: "${entry}" is not an IP address or CIDR range`);
      if (bits === undefined) this.list.addAddress(addr, family);
      else this.list.addSubnet(addr, Number(bits), family);
    }
  }

  allows(ip: string): boolean {
    if (!this.enabled) return true;
    const n = normalizeIp(ip);
    const family = isIP(n);
    return family !== 0 && this.list.check(n, family === 6 ? 'ipv6' : 'ipv4');
  }
}
