import { createTestApp, TestApp } from '../support/app';

type Line = Record<string, unknown> & { msg?: string; req?: { id?: string; method?: string; url?: string; remote?: string }; res?: { statusCode?: number } };

/**
 * Request logging runs from a Fastify hook, not Nest middleware (installRequestLogging): pino-http's
 * line per request with the request id and the redacted URL, and nestjs-pino's request context for
 * every line logged while the request is handled; routes flagged NO_REQUEST_LOG (/health here, the
 * webhook receive route in test/custom-bots/webhook-bare-route) get neither.
 */
describe('request logging (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function linesOf(send: () => Promise<unknown>): Promise<Line[]> {
    const before = t.logs.lines.length;
    await send();
    // pino-http logs on the response's 'finish', which may come after the client has the answer.
    await new Promise((r) => setTimeout(r, 50));
    return t.logs.lines.slice(before).map((l) => JSON.parse(l) as Line);
  }

  it('a request: its request-completed line with the request id and the URL redacted; a line logged while handling it carries the same req', async () => {
    const lines = await linesOf(() => t.request('GET', '/api/users/me?access_token=sekrit-123&x=1', { headers: { 'x-request-id': 'log-get-1' } }));
    const mine = lines.filter((l) => l.req?.id === 'log-get-1');
    expect(mine).toEqual([
      // AllExceptionsFilter's line for the 401, logged inside the request.
      expect.objectContaining({ context: 'ExceptionFilter', request_id: 'log-get-1', status: 401, req: expect.objectContaining({ id: 'log-get-1', method: 'GET', url: '/api/users/me?access_token=[redacted]&x=1' }) }),
      expect.objectContaining({ msg: 'request completed', res: expect.objectContaining({ statusCode: 401 }), responseTime: expect.any(Number), req: { id: 'log-get-1', method: 'GET', url: '/api/users/me?access_token=[redacted]&x=1', remote: '127.0.0.1' } }),
    ]);
    expect(lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain('sekrit-123');
  });

  it('a POST: the context survives body parsing and the handler’s awaits; without x-request-id the generated id is the one logged and answered', async () => {
    let answer: { headers: Record<string, string | string[] | undefined> } | undefined;
    const lines = await linesOf(async () => {
      answer = await t.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'long-enough-pw' } });
    });
    const id = answer?.headers['x-request-id'];
    expect(id).toEqual(expect.any(String));
    const mine = lines.filter((l) => l.req?.id === id);
    expect(mine.map((l) => [l.msg, l.context, l.req?.url])).toEqual([
      [expect.any(String), 'ExceptionFilter', '/api/auth/login'],
      ['request completed', undefined, '/api/auth/login'],
    ]);
    expect(lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain('long-enough-pw');
  });

  it('concurrent requests: each line logged inside a request carries that request’s id, never another’s', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `log-many-${i}`);
    const lines = await linesOf(() => Promise.all(ids.map((id) => t.request('POST', '/api/auth/login', { body: { email: `${id}@example.com`, password: 'long-enough-pw' }, headers: { 'x-request-id': id } }))));
    const filtered = lines.filter((l) => l.context === 'ExceptionFilter' && ids.includes(String(l.request_id)));
    expect(filtered).toHaveLength(ids.length);
    for (const l of filtered) expect(l.req?.id).toBe(l.request_id);
    expect(lines.filter((l) => l.msg === 'request completed' && ids.includes(String(l.req?.id)))).toHaveLength(ids.length);
  });

  it('unknown routes are logged too (no route, so no flag to skip them)', async () => {
    const lines = await linesOf(() => t.request('GET', '/api/does-not-exist?token=abc', { headers: { 'x-request-id': 'log-404' } }));
    expect(lines.filter((l) => l.msg === 'request completed' && l.req?.id === 'log-404')).toEqual([
      expect.objectContaining({ res: expect.objectContaining({ statusCode: 404 }), req: expect.objectContaining({ url: '/api/does-not-exist?token=[redacted]' }) }),
    ]);
  });

  it('no Nest middleware is mounted: middie, which Nest registers anyway, runs nothing per request', () => {
    // Nest middleware on Fastify runs through @fastify/middie's onRequest hook, with Nest's path and
    // exclusion matching per request (~6 % of the api's CPU in a webhook burst when nestjs-pino's was
    // mounted). If a middleware is needed again, weigh that cost on the receive route before removing this.
    const fastify = t.app.getHttpAdapter().getInstance() as unknown as Record<symbol, unknown>;
    const hasMiddleware = Object.getOwnPropertySymbols(fastify).find((s) => s.description === 'fastify-middie-has-middlewares');
    expect(hasMiddleware).toBeDefined();
    expect(fastify[hasMiddleware!]).toBe(false);
  });

  it('/health (GET, and HEAD Fastify derives from it): no request line, no request context', async () => {
    const lines = await linesOf(async () => {
      expect((await fetch(`${t.url}/health`, { headers: { 'x-request-id': 'log-health-get' } })).status).toBe(200);
      expect((await fetch(`${t.url}/health`, { method: 'HEAD', headers: { 'x-request-id': 'log-health-head' } })).status).toBe(200);
    });
    expect(lines.filter((l) => l.req !== undefined)).toEqual([]);
  });
});
