// Type-checked by `npm run client` (tsc -p clients/typescript), which generates the types first;
// the root tsconfig leaves this directory out because generated/ is not committed.
import type { Middleware } from 'openapi-fetch';
import { createTorgovoClient, type Schemas, type TorgovoClient } from '../../clients/typescript/src';
import { createTestApp, TestApp } from '../support/app';
import { responseCheckerFor } from '../support/openapi-check';

describe('the generated TypeScript client: register → Free plan → bot → webhook → alert → order', () => {
  let t: TestApp;
  let api: TorgovoClient;
  let token: string | undefined;

  beforeAll(async () => {
    t = await createTestApp();
    api = createTorgovoClient({ baseUrl: t.url, accessToken: () => token });
    // The same contract check as every e2e request.
    const checker = responseCheckerFor(t.openapi);
    const check: Middleware = {
      async onResponse({ request, response }) {
        const url = new URL(request.url);
        checker.check(request.method, url.pathname + url.search, response.status, await response.clone().text(), response.headers.get('content-type') ?? undefined);
        return response;
      },
    };
    api.use(check);
  });
  afterAll(() => t.close());

  it('runs the whole journey through typed calls', async () => {
    const registered = await api.POST('/api/auth/register', { body: { email: `client-${Date.now()}@example.com`, password: 'correct-horse-battery', full_name: 'Client' } });
    expect(registered.response.status).toBe(201);
    const auth: Schemas['AuthResponse'] = registered.data!;
    token = auth.access_token;
    expect(auth.user.role).toBe('user');

    const plans = await api.GET('/api/subscription-plans', { params: { query: { plan_type: 'custom_bot' } } });
    const free = plans.data!.items.find((p) => p.code === 'free')!;
    expect(free.max_bots).toBe(1);
    expect(free.live_trading).toBe(false);

    const sub = await api.POST('/api/subscriptions', { body: { plan_id: free.id, billing_cycle: 'monthly', payment_method: 'none' } });
    expect(sub.response.status).toBe(201);
    expect(sub.data!.status).toBe('active');
    const mine = await api.GET('/api/subscriptions/my-subscription');
    expect(mine.data!.custom_bot?.plan?.code).toBe('free');

    const bot = await api.POST('/api/bots', {
      body: { name: 'client bot', symbol: 'BTCUSDT', mode: 'paper', order_type: 'market', sizing: { type: 'quote', value: '100' } },
    });
    expect(bot.response.status).toBe(201);
    const botId = bot.data!.id;
    expect(bot.data!.symbol).toBe('BTC/USDT');

    const hook = await api.POST('/api/custom-bot/webhook/generate', { body: { bot_id: botId } });
    expect(hook.response.status).toBe(201);
    const secret = hook.data!.webhook_secret;

    const alert = await api.POST('/api/custom-bot/webhook/receive/{secret}', {
      params: { path: { secret } },
      body: { action: 'buy', ticker: 'BTCUSDT', price: '65000.5', quantity: '0.001', alert_id: `client-${Date.now()}`, timestamp: new Date().toISOString() },
    });
    expect(alert.response.status).toBe(202);
    const orderId = alert.data!.order_id;
    expect(alert.data!.status).toBe('accepted');

    const orders = await api.GET('/api/orders', { params: { query: { bot_id: botId, symbol: 'BTCUSDT' } } });
    expect(orders.data!.items.map((o) => o.id)).toEqual([orderId]);
    const order = await api.GET('/api/orders/{id}', { params: { path: { id: orderId } } });
    expect(order.data).toMatchObject({ id: orderId, bot_id: botId, side: 'buy', symbol: 'BTC/USDT', amount: '0.001' });

    // Errors are typed: the code is one of the operation's documented codes.
    const missing = await api.GET('/api/bots/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } });
    expect(missing.response.status).toBe(404);
    const code: string | undefined = missing.error?.code;
    expect(code).toBe('not_found');
  });
});
