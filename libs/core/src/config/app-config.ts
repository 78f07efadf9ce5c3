import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  IsTimeZone,
  MinLength,
  validateSync,
} from 'class-validator';

/** class-transformer helpers for env strings; invalid input is passed through for the validator to name. */
export const envBool = ({ value }: { value: unknown }): unknown => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const v = String(value).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
export const envInt = ({ value }: { value: unknown }): unknown =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;
export const envList = ({ value }: { value: unknown }): unknown =>
  value === undefined || value === ''
    ? []
    : String(value)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/**
 * Every environment variable Torgovo reads, validated once at start.
 * Property names are the variable names so an error names the variable.
 */
export class EnvSchema {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(envInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  /**
   * Connections the kernel queues for the api before it accepts them (listen(2)'s backlog; the
   * kernel caps it at net.core.somaxconn). At a bar close thousands of TradingView connections open
   * within a second: with Node's default of 511 the kernel dropped the SYNs beyond it (bench/burst:
   * 1,024 connections at once), and their senders retried after 1 s and again 2 s later — alerts
   * answered after 4 s of TradingView's 3.
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(65535)
  HTTP_LISTEN_BACKLOG = 4096;

  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Transform(envInt) @IsInt() @Min(1) @Max(200)
  DATABASE_POOL_SIZE = 10;

  @IsString()
  DATA_DIR = './data';

  @IsOptional() @IsString() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  @IsOptional() @IsString() @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsOptional() @IsString()
  ENCRYPTION_KEY?: string;

  @Transform(envList)
  @IsString({ each: true })
  ENCRYPTION_KEYS_OLD: string[] = [];

  // An unknown zone would pass here and fail every billing-period computation later (500s).
  @IsString() @IsTimeZone({ message: 'APP_TIMEZONE must be an IANA time zone such as Asia/Karachi' })
  APP_TIMEZONE = 'Asia/Karachi';

  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_URL?: string;

  @IsOptional() @IsString()
  ADMIN_EMAIL?: string;

  @IsOptional() @IsString() @MinLength(8, { message: 'ADMIN_PASSWORD must be at least 8 characters' })
  ADMIN_PASSWORD?: string;

  @IsOptional() @Transform(envBool) @IsBoolean()
  WORKER_ENABLED?: boolean;

  /**
   * The worker process's CPU niceness (0 = as the api; 19 = last). On a host the api shares, a bar
   * close's alerts must be answered within TradingView's 3 s while their orders have seconds more:
   * the worker yields the CPU to the api. Alone on its host it changes nothing.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(19)
  WORKER_NICE = 10;

  /** api process: V8's old-generation growth past its last full collection, in % (apps/api/src/heap-tuning.ts reads it at start; 0 = V8's own). */
  @Transform(envInt) @IsInt() @Min(0) @Max(1000)
  API_HEAP_GROWING_PERCENT = 60;

  /** worker process: the same for the worker (apps/worker/src/heap-tuning.ts). */
  @Transform(envInt) @IsInt() @Min(0) @Max(1000)
  WORKER_HEAP_GROWING_PERCENT = 60;

  /** Refuse a second pooled connection inside a transaction (default: on for the embedded PGlite). */
  @IsOptional() @Transform(envBool) @IsBoolean()
  DATABASE_TRANSACTION_GUARD?: boolean;

  @Transform(envList) @IsString({ each: true })
  WEBHOOK_IP_ALLOWLIST: string[] = [];

  @Transform(envList) @IsString({ each: true })
  TRUSTED_PROXIES: string[] = [];

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(envBool) @IsBoolean()
  LOG_PRETTY = false;

  @Transform(envInt) @IsInt() @Min(1)
  AUTH_THROTTLE_LIMIT = 10;

  @Transform(envInt) @IsInt() @Min(1)
  AUTH_THROTTLE_TTL_SECONDS = 60;

  @Transform(envInt) @IsInt() @Min(60)
  ACCESS_TOKEN_TTL_SECONDS = 900;

  @Transform(envInt) @IsInt() @Min(60)
  REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

  /** A spent refresh token presented again this soon, by the same client, gets the same successor (0 = off). */
  @Transform(envInt) @IsInt() @Min(0) @Max(60)
  REFRESH_REUSE_GRACE_SECONDS = 10;

  /** Browser origins allowed by CORS; unset = the development defaults outside production, none in production. */
  @IsOptional() @Transform(envList) @Matches(/^(\*|https?:\/\/[^/\s?#]+)$/, { each: true, message: 'CORS_ORIGINS must be comma-separated origins like https://app.example.com (scheme, host, optional port; no path)' })
  CORS_ORIGINS?: string[];

  @IsOptional() @IsString() STRIPE_SECRET_KEY?: string;
  @IsOptional() @IsString() STRIPE_WEBHOOK_SECRET?: string;
  @IsOptional() @IsString() STRIPE_SUCCESS_URL?: string;
  @IsOptional() @IsString() STRIPE_CANCEL_URL?: string;
  /** Where the Customer Portal sends the user back (default PUBLIC_URL/billing). */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) STRIPE_PORTAL_RETURN_URL?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) STRIPE_API_URL?: string;

  @IsOptional() @IsString() OKX_ADMIN_API_KEY?: string;
  @IsOptional() @IsString() OKX_ADMIN_SECRET?: string;
  @IsOptional() @IsString() OKX_ADMIN_PASSPHRASE?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) OKX_API_URL?: string;
  /**
   * At most this many ccxt OKX instances per endpoint (live, demo). A call borrows one only while
   * ccxt signs it (synchronously, see OkxClientPool), so in practice one instance serves every call
   * in flight and this is only a cap; it no longer bounds the OKX calls in flight (the worker's
   * TRADING_LIVE_SENDS_IN_FLIGHT does).
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(1024)
  OKX_CLIENT_POOL_SIZE = 128;

  /**
   * The most HTTP connections to OKX per ccxt instance (in practice one instance serves every call:
   * OKX_CLIENT_POOL_SIZE). ccxt's own cap is 256 per origin, and a call beyond it waits in the HTTP
   * client's queue: with a placement and a read per live order that capped a worker at ~128 orders
   * in flight, whatever TRADING_LIVE_SENDS_IN_FLIGHT said — at 300 ms a call, 10,000 orders needed
   * ≥ 23 s (bench/burst). Keep it ≥ TRADING_LIVE_SENDS_IN_FLIGHT × TRADING_LIVE_BATCHES (2 × 256).
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(4096)
  OKX_MAX_CONNECTIONS = 512;

  /**
   * Where the api's OKX calls run (key checks on connect, a follower's balance, deposit addresses):
   * `sidecar`, a child process started on the first call and ended when idle, so the api does not
   * keep ccxt (~20 MB at a burst's peak); `in-process`, ccxt in the api. Unset: `sidecar`, or
   * `in-process` when the worker runs in the api's process (the embedded default), which loads
   * ccxt for its live orders anyway. The worker always calls OKX in its own process.
   */
  @IsOptional() @IsIn(['in-process', 'sidecar'])
  OKX_CALLS?: 'in-process' | 'sidecar';

  /** The api's OKX call process ends this long after its last call answered (OKX_CALLS=sidecar). */
  @Transform(envInt) @IsInt() @Min(1) @Max(86_400)
  OKX_SIDECAR_IDLE_SECONDS = 60;

  @IsOptional() @IsString() COINGATE_API_TOKEN?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) COINGATE_API_URL?: string;

  /** Which exchange gateway new paper bots and tests use; live bots always use ccxt. */
  @Transform(envInt) @IsInt() @Min(1) @Max(64)
  TRADING_CONCURRENCY = 8;

  @Transform(envInt) @IsInt() @Min(10)
  TRADING_POLL_MS = 250;
}

export class ConfigError extends Error {
  constructor(readonly variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function validateEnv(env: NodeJS.ProcessEnv): EnvSchema {
  const parsed = loadEnvSection(EnvSchema, env);
  if (parsed.NODE_ENV === 'production') {
    const missing = (['JWT_SECRET', 'ENCRYPTION_KEY', 'DATABASE_URL'] as const).filter((k) => !parsed[k]);
    if (missing.length > 0) {
      throw new ConfigError(missing, `Invalid configuration: ${missing.join(', ')} required when NODE_ENV=production`);
    }
  }
  const stripeKeys = [parsed.STRIPE_SECRET_KEY, parsed.STRIPE_WEBHOOK_SECRET].filter(Boolean).length;
  if (stripeKeys === 1) {
    const missing = parsed.STRIPE_SECRET_KEY ? 'STRIPE_WEBHOOK_SECRET' : 'STRIPE_SECRET_KEY';
    throw new ConfigError([missing], `Invalid configuration: ${missing} is required when Stripe is configured`);
  }
  // ADMIN_PASSWORD alone is fine: `cli create-admin --email` reads it.
  if (parsed.ADMIN_EMAIL && !parsed.ADMIN_PASSWORD) {
    throw new ConfigError(['ADMIN_PASSWORD'], 'Invalid configuration: ADMIN_PASSWORD is required with ADMIN_EMAIL');
  }
  return parsed;
}

/**
 * Validate the variables one schema class declares (property names are variable names, so an
 * error names the variable). Libs keep their own sections (BILLING_*, TRADING_*, WEBHOOK_*)
 * beside their code and load them through this.
 */
export function loadEnvSection<T extends object>(schema: new () => T, env: NodeJS.ProcessEnv): T {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(new schema())) {
    const v = env[key];
    if (v !== undefined) raw[key] = v;
  }
  const parsed = plainToInstance(schema, raw, { exposeDefaultValues: true });
  const errors = validateSync(parsed, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(
      errors.map((e) => e.property),
      `Invalid configuration:\n  ${lines.join('\n  ')}`,
    );
  }
  return parsed;
}
