import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp } from '../support/app';
import { responseCheckerFor } from '../support/openapi-check';
import { extractSteps, pick, runStep } from './doc-examples';

const DOC = join(__dirname, '..', '..', 'API_DOCUMENTATION.md');

describe('API_DOCUMENTATION.md: every `bash exec` example runs as written', () => {
  let okx: FakeOkxServer;
  let t: TestApp;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    // The keys the "connect an exchange" example sends.
    okx.addAccount({ apiKey: 'my-okx-api-key', secret: 'my-okx-secret', passphrase: 'my-okx-passphrase', balances: { USDT: '1000' } });
    // The key the "trade-only keys" example is refused for.
    okx.addAccount({ apiKey: 'my-withdraw-key', secret: 'my-withdraw-secret', passphrase: 'my-okx-passphrase', perm: 'read_only,withdraw,trade' });
    t = await createTestApp({ OKX_API_URL: okx.url, ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'admin-password-change-me' });
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });

  it('runs the examples in order, with their statuses, saved values and headers', async () => {
    const steps = extractSteps(readFileSync(DOC, 'utf8'));
    expect(steps.length).toBeGreaterThan(30);
    const checker = responseCheckerFor(t.openapi);
    const env: Record<string, string> = { HOST: t.url, API: `${t.url}/api` };
    for (const step of steps) {
      const where = `API_DOCUMENTATION.md:${step.line}`;
      const { calls, vars } = await runStep(step, env);
      Object.assign(env, vars);
      if (calls.length === 0) throw new Error(`${where}: the example made no request`);
      calls.forEach((call, i) => {
        const url = new URL(call.url);
        try {
          checker.check(call.method, url.pathname + url.search, call.status, call.body, call.headers['content-type']);
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
        }
        const last = i === calls.length - 1;
        const expected = last ? step.status : undefined;
        if (expected !== undefined ? call.status !== expected : call.status >= 400) {
          throw new Error(`${where}: ${call.method} ${url.pathname} answered ${call.status}, the example says ${expected ?? '2xx'}: ${call.body.slice(0, 400)}`);
        }
      });
      const answer = calls[calls.length - 1];
      for (const h of step.headers) if (!(h in answer.headers)) throw new Error(`${where}: no ${h} header in ${JSON.stringify(answer.headers)}`);
      for (const { name, path } of step.saves) {
        const value = pick(answer.body ? JSON.parse(answer.body) : undefined, path);
        if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${where}: ${path} is not in the answer: ${answer.body.slice(0, 300)}`);
        env[name] = String(value);
      }
    }
  });

  it('skips blocks not marked `bash exec` and reads annotations as documented', () => {
    const md = [
      '## A helper\'s section', '```bash', 'curl -s $API/never-run', '```',
      '```bash exec', 'curl -s -X POST $API/x \\', "  -d '{\"a\":1}'", '# → 201 {"id":…}', '# A=.id B=.items[code=free].id', '# header: x-y',
      'curl -s $API/y', '```', '```json', '{}', '```',
    ].join('\n');
    const steps = extractSteps(md);
    expect(steps).toHaveLength(2);
    expect(steps[0]).toMatchObject({ status: 201, saves: [{ name: 'A', path: '.id' }, { name: 'B', path: '.items[code=free].id' }], headers: ['x-y'] });
    expect(steps[0].script).toContain('-d \'{"a":1}\'');
    expect(steps[1].script).toBe('curl -s $API/y');
    expect(steps[1].status).toBeUndefined();
    expect(pick({ items: [{ code: 'pro', id: 1 }, { code: 'free', id: 2 }] }, '.items[code=free].id')).toBe(2);
  });
});
