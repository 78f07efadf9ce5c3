import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';

// A real browser (Debian's headless chromium, driven by playwright-core) as the React frontend
// and the admin's Swagger UI use the API: a page on another origin logs in and lists bots
// through CORS, a page on an origin not in CORS_ORIGINS is refused, and /docs renders.
// .ci/run installs chromium; where it cannot be installed this file skips, saying so.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(`browser test SKIPPED: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A tiny static site on its own port: another origin than the API. */
async function staticSite(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><head><title>frontend</title></head><body><h1>frontend</h1></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

(available ? describe : describe.skip)('in a real browser (chromium headless)', () => {
  let t: TestApp;
  let frontend: { origin: string; server: Server };
  let stranger: { origin: string; server: Server };
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    frontend = await staticSite();
    stranger = await staticSite();
    t = await createTestApp({ CORS_ORIGINS: frontend.origin });
    profile = mkdtempSync(join(tmpdir(), 'torgovo-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await t?.close();
    frontend?.server.close();
    stranger?.server.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(url: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  it('a page on an allowed origin logs in and lists the user’s bots through CORS', async () => {
    const u = await t.register();
    const plans = await t.request<{ items: Array<{ id: string; code: string }> }>('GET', '/api/subscription-plans?plan_type=custom_bot');
    const free = plans.body.items.find((p) => p.code === 'free')!;
    await t.request('POST', '/api/subscriptions', { token: u.access_token, body: { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none', auto_renew: false } });
    const bot = await t.request<{ id: string }>('POST', '/api/bots', {
      token: u.access_token,
      body: { name: 'from-browser', symbol: 'BTC/USDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '10' } },
    });
    expect(bot.status).toBe(201);

    const page = await open(frontend.origin);
    // What a React app does: JSON login (a preflighted request), then a bearer-token GET.
    const result = await page.evaluate(
      async ({ api, email, password }) => {
        const login = await fetch(`${api}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
        const tokens = (await login.json()) as { access_token: string };
        const bots = await fetch(`${api}/api/bots`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
        return {
          login: login.status,
          remaining: login.headers.get('x-ratelimit-remaining-auth'),
          requestId: login.headers.get('x-request-id'),
          bots: bots.status,
          body: (await bots.json()) as { items: Array<{ id: string; name: string }> },
        };
      },
      { api: t.url, email: u.email, password: u.password },
    );
    expect(result.login).toBe(200);
    expect(result.remaining).toMatch(/^\d+$/);
    expect(result.requestId).toEqual(expect.any(String));
    expect(result.bots).toBe(200);
    expect(result.body.items).toEqual([expect.objectContaining({ id: bot.body.id, name: 'from-browser' })]);
    await page.close();
  });

  it('a page on an origin not in CORS_ORIGINS cannot read the API', async () => {
    const page = await open(stranger.origin);
    const outcome = await page.evaluate(async (api) => {
      try {
        const res = await fetch(`${api}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        return `read ${res.status}`;
      } catch (e) {
        return `blocked: ${(e as Error).name}`;
      }
    }, t.url);
    expect(outcome).toBe('blocked: TypeError');
    await page.close();
  });

  it('Swagger UI at /docs renders the operations under the Content-Security-Policy', async () => {
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
    });
    await page.goto(`${t.url}/docs`);
    await page.waitForSelector('.opblock-summary', { timeout: 30_000 });
    const operations = await page.locator('.opblock-summary').count();
    expect(operations).toBeGreaterThan(20);
    expect(await page.locator('.opblock-summary-path', { hasText: '/api/auth/login' }).count()).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    await page.close();
  });
});
