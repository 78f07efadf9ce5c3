import { BlockList, isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import { IsInt, Max, Min, validateSync } from 'class-validator';
import { ConfigError } from '@torgovo/core';

const toInt = ({ value }: { value: unknown }): unknown =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;

/**
 * Webhook knobs, validated once at start like the core config (the property names are the
 * variable names). Kept here until core's EnvSchema owns them, as billing-config does.
 */
export class WebhookConfig {
  /** Requests per minute from one source address; 0 turns the per-IP limit off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000)
  WEBHOOK_RATE_LIMIT_PER_IP = 600;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
    const raw: Record<string, string> = {};
    for (const key of Object.keys(new WebhookConfig())) {
      const v = env[key];
      if (v !== undefined) raw[key] = v;
    }
    const parsed = plainToInstance(WebhookConfig, raw, { exposeDefaultValues: true });
    const errors = validateSync(parsed);
    if (errors.length > 0) {
      const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
      throw new ConfigError(errors.map((e) => e.property), `Invalid configuration:\n  ${lines.join('\n  ')}`);
    }
    return parsed;
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
