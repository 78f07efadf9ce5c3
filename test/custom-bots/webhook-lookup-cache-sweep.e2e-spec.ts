import { WebhookTargets } from '../../libs/custom-bots/src/webhook-targets';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { runningBotWebhook, sendAlert } from './support';

// The webhook lookup cache lets go of expired entries as alerts arrive: a bar close over thousands of
// webhooks must not leave its lookups in the api's memory until the cache is full.
describe('webhook lookup cache: expired entries are swept (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ...WORKER_JOBS_BY_HAND, WEBHOOK_LOOKUP_CACHE_MS: '300', WEBHOOK_RATE_LIMIT_PER_USER: '0', WEBHOOK_RATE_LIMIT_PER_IP: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  let n = 0;
  const alert = (secret: string) => ({ action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001', alert_id: `s-${(n += 1)}`, secret });

  const webhook = async (): Promise<string> => (await runningBotWebhook(t)).hook.webhook_secret;

  it('three webhooks cached → their lifetime passes → the next alert (another webhook) finds them gone; it is cached itself and answered as usual', async () => {
    const targets = t.app.get(WebhookTargets);
    const secrets = [await webhook(), await webhook(), await webhook(), await webhook()];
    // The cache's clock stands still while the three are cached (a loaded machine may take longer than
    // the 300 ms lifetime to answer three alerts); then real time passes their lifetime.
    const realNow = Date.now.bind(Date);
    const frozenAt = realNow();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => frozenAt);
    try {
      for (const s of secrets.slice(0, 3)) expect((await sendAlert(t, s, alert(s))).status).toBe(202);
      expect(targets.size).toBeGreaterThanOrEqual(3);
    } finally {
      clock.mockRestore();
    }
    await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + 400 - realNow())));
    expect(targets.size).toBeGreaterThanOrEqual(3); // nothing swept without a lookup
    const last = secrets[3];
    expect((await sendAlert(t, last, alert(last))).status).toBe(202);
    expect(targets.size).toBe(1);
    // An expired webhook's next alert is looked up again and accepted.
    expect((await sendAlert(t, secrets[0], alert(secrets[0]))).status).toBe(202);
  });
});
