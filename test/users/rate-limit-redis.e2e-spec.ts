import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createTestApp, TestApp } from '../support/app';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';

// Two api replicas with REDIS_URL share one counter: the limit holds across them. Needs Redis;
// global-setup probes it and, outside CI, skips this file with a message when it is not running.
(process.env.TORGOVO_TEST_REDIS === '0' ? describe.skip : describe)('auth rate limit shared through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    a = await createTestApp({ REDIS_URL, AUTH_THROTTLE_LIMIT: '4' });
    b = await createTestApp({ REDIS_URL, AUTH_THROTTLE_LIMIT: '4' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis.flushdb();
    redis.disconnect();
  });

  it('counts attempts on both replicas together', async () => {
    const body = { email: `${randomUUID()}@example.com`, password: 'whatever-pw' };
    const statuses: number[] = [];
    for (const app of [a, b, a, b, a, b]) statuses.push((await app.request('POST', '/api/auth/login', { body })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const keys = await redis.keys('torgovo:throttle:auth:*');
    expect(keys.length).toBeGreaterThan(0);
  });
});
