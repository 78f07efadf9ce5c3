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

  static fromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
    return loadEnvSection(WebhookConfig, env);
  }
}

/** "::ffff:1.2.3.4" (IPv4 on a dual-stack socket) is 1.2.3.4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
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
