import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, validateEnv } from './app-config';
import { AppConfig } from './config.service';

const prodBase = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@localhost:5432/db',
  JWT_SECRET: 'x'.repeat(40),
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
};

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    validateEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('CORS origins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'torgovo-cors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cors = (env: NodeJS.ProcessEnv) => new AppConfig(validateEnv({ DATA_DIR: dir, ...env })).corsOrigins;

  it('development allows the Vite and CRA dev servers by default; production allows none', () => {
    expect(cors({})).toEqual(['http://localhost:5173', 'http://localhost:3000']);
    expect(cors(prodBase)).toEqual([]);
  });

  it('CORS_ORIGINS replaces the default; empty means none', () => {
    expect(cors({ ...prodBase, CORS_ORIGINS: 'https://app.example.com, https://admin.example.com:8443' })).toEqual(['https://app.example.com', 'https://admin.example.com:8443']);
    expect(cors({ CORS_ORIGINS: '' })).toEqual([]);
  });
});

describe('validateEnv', () => {
  it('applies defaults', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({ NODE_ENV: 'development', PORT: 3000, DATA_DIR: './data', APP_TIMEZONE: 'Asia/Karachi', TRADING_POLL_MS: 250 });
    expect(env.WEBHOOK_IP_ALLOWLIST).toEqual([]);
  });

  it('parses numbers, booleans and lists', () => {
    const env = validateEnv({ PORT: '8080', WORKER_ENABLED: 'false', WEBHOOK_IP_ALLOWLIST: '52.89.214.238, 34.212.75.30' });
    expect(env.PORT).toBe(8080);
    expect(env.WORKER_ENABLED).toBe(false);
    expect(env.WEBHOOK_IP_ALLOWLIST).toEqual(['52.89.214.238', '34.212.75.30']);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ APP_TIMEZONE: 'Mars/Base' }, 'APP_TIMEZONE'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ WORKER_ENABLED: 'maybe' }, 'WORKER_ENABLED'],
    [{ OKX_CALLS: 'thread' }, 'OKX_CALLS'],
    [{ OKX_SIDECAR_IDLE_SECONDS: '0' }, 'OKX_SIDECAR_IDLE_SECONDS'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ STRIPE_SECRET_KEY: 'sk_test_x' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'app.example.com' }, 'CORS_ORIGINS'],
    [{ REFRESH_REUSE_GRACE_SECONDS: '600' }, 'REFRESH_REUSE_GRACE_SECONDS'],
  ])('names the bad variable: %j', (env, name) => {
    const err = errorOf(env);
    expect(err.variables).toContain(name);
    expect(err.message).toContain(name);
  });

  it.each(['JWT_SECRET', 'ENCRYPTION_KEY', 'DATABASE_URL'])('production refuses to start without %s', (name) => {
    const env: Record<string, string> = { ...prodBase };
    delete env[name];
    const err = errorOf(env);
    expect(err.variables).toEqual([name]);
  });

  it('production starts with all three', () => {
    expect(validateEnv(prodBase).NODE_ENV).toBe('production');
  });
});

describe('AppConfig', () => {
  it('generates development secrets once and keeps them in DATA_DIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'torgovo-cfg-'));
    try {
      const a = AppConfig.fromEnv({ DATA_DIR: dir });
      const b = AppConfig.fromEnv({ DATA_DIR: dir });
      expect(a.jwtSecret).toBe(b.jwtSecret);
      expect(a.encryptionKey).toBe(b.encryptionKey);
      expect(Buffer.from(a.encryptionKey, 'base64')).toHaveLength(32);
      expect(JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).JWT_SECRET).toBe(a.jwtSecret);
      expect(a.embedded).toBe(true);
      expect(a.workerEnabled).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the worker separately by default on a real PostgreSQL', () => {
    const c = AppConfig.fromEnv({ ...prodBase });
    expect(c.embedded).toBe(false);
    expect(c.workerEnabled).toBe(false);
    expect(c.publicUrl).toBe('http://localhost:3000');
  });
});
