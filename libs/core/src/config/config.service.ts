import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EnvSchema, validateEnv } from './app-config';

interface DevSecrets {
  JWT_SECRET: string;
  ENCRYPTION_KEY: string;
}

/** Vite's and Create React App's dev servers. */
export const DEV_CORS_ORIGINS = ['http://localhost:5173', 'http://localhost:3000'];

/** The validated, resolved configuration. Built once per process (or per test app). */
export class AppConfig {
  readonly env: EnvSchema;
  readonly jwtSecret: string;
  readonly encryptionKey: string;
  readonly encryptionKeysOld: string[];
  readonly embedded: boolean;
  readonly dataDir: string;
  readonly workerEnabled: boolean;
  readonly publicUrl: string;
  readonly isProduction: boolean;
  /** Origins a browser may call the API from (CORS). */
  readonly corsOrigins: string[];

  constructor(env: EnvSchema) {
    this.env = env;
    this.isProduction = env.NODE_ENV === 'production';
    this.dataDir = resolve(env.DATA_DIR);
    this.embedded = !env.DATABASE_URL;
    const secrets = env.JWT_SECRET && env.ENCRYPTION_KEY ? undefined : loadDevSecrets(this.dataDir);
    this.jwtSecret = env.JWT_SECRET ?? secrets!.JWT_SECRET;
    this.encryptionKey = env.ENCRYPTION_KEY ?? secrets!.ENCRYPTION_KEY;
    this.encryptionKeysOld = env.ENCRYPTION_KEYS_OLD;
    this.workerEnabled = env.WORKER_ENABLED ?? this.embedded;
    this.corsOrigins = env.CORS_ORIGINS ?? (this.isProduction ? [] : DEV_CORS_ORIGINS);
    this.publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
    return new AppConfig(validateEnv(env));
  }

  get stripeEnabled(): boolean {
    return Boolean(this.env.STRIPE_SECRET_KEY && this.env.STRIPE_WEBHOOK_SECRET);
  }
}

/**
 * Development only: keep generated secrets in DATA_DIR so tokens and encrypted
 * credentials survive restarts. Production refuses to start without them (see validateEnv).
 */
function loadDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets: DevSecrets = {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
