import { Client, Notification } from 'pg';
import { WebhookReceiveRoute } from '@torgovo/custom-bots';
import { WebhookIntake } from '../../libs/custom-bots/src/webhook-intake';
import { decodeIngestBusy, INGEST_CHANNEL, IngestBusySignal, IngestYield, OrderNotifyListener, TradingManagerConfig } from '@torgovo/trading';
import { createTestApp, TestApp } from '../support/app';
import { createUser } from '../trading/support';
import { runningBotWebhook, sendAlert } from '../custom-bots/support';
import { bootWorker, commitOrder, reload, sleep, TestWorker, waitFor } from './support';

/**
 * Issue 16's bar close: while an api process has more than WEBHOOK_BUSY_IN_FLIGHT alerts unanswered
 * it tells the workers through PostgreSQL (WebhookBusySignal → NOTIFY), and a worker on a saturated
 * host holds back its claims (IngestYield) until the alerts are answered, for at most
 * TRADING_INGEST_YIELD_MAX_MS. The api and the worker here are the real ones, on one real database;
 * alerts are held at their write (the accept statement) to make the backlog.
 */
describe('A worker yields to a backlogged webhook intake (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  let listener: Client;
  const signals: Array<{ at: number; signal: IngestBusySignal }> = [];
  // One worker for the file (log capture works for the first worker booted in a process); each test
  // sets its bound and what its host reads as.
  let w: TestWorker;
  let ingest: IngestYield;

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_BUSY_IN_FLIGHT: '3', WEBHOOK_RATE_LIMIT_PER_USER: '0', WEBHOOK_RATE_LIMIT_PER_IP: '0' });
    listener = new Client({ connectionString: t.db.url });
    await listener.connect();
    listener.on('notification', (n: Notification) => {
      const signal = n.channel === INGEST_CHANNEL ? decodeIngestBusy(n.payload) : null;
      if (signal) signals.push({ at: Date.now(), signal });
    });
    await listener.query(`LISTEN ${INGEST_CHANNEL}`);
    // Its loop on, polling every 20 ms: only the yield can keep a due order waiting.
    w = await bootWorker(t.db, { TRADING_MANAGER_ENABLED: 'true', TRADING_POLL_MS: '20', TRADING_SYNC_INTERVAL_MS: '0' });
    ingest = w.ctx.get(IngestYield);
    await waitFor(() => w.ctx.get(OrderNotifyListener).listening, 10_000);
  });
  afterAll(async () => {
    await w?.close();
    await listener?.end();
    await t?.close();
  });

  /** The bound for this test, and what the host reads as (1 = saturated); after the last test's signals lapsed. */
  async function setUp(yieldMaxMs: number, hostBusy: number): Promise<void> {
    await waitFor(() => !ingest.backlogged(), 3_000);
    w.ctx.get(TradingManagerConfig).TRADING_INGEST_YIELD_MAX_MS = yieldMaxMs;
    ingest.host = { busySince: () => hostBusy };
    signals.length = 0;
  }

  // The api was booted first in this process: the worker's lines land in its capture too.
  const logs = () => t.logs.text() + w.logs.text();

  let n = 0;
  const alert = () => ({ action: 'buy', ticker: 'BTCUSDT', price: '60000', quantity: '0.001', alert_id: `yield-${(n += 1)}` });

  /**
   * `count` alerts of a new trader, each held at its write (the accept statement) until release():
   * they stay unanswered, in flight in the api. release() answers their statuses.
   */
  async function heldAlerts(count: number): Promise<{ release: () => Promise<number[]>; restore: () => void }> {
    const { hook } = await runningBotWebhook(t);
    const intake = t.app.get(WebhookIntake, { strict: false });
    const write = intake.accept.bind(intake);
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const spy = jest.spyOn(intake, 'accept').mockImplementation(async (item) => {
      await opened;
      return write(item);
    });
    const answers = Array.from({ length: count }, () => sendAlert(t, hook.webhook_secret, alert()));
    await waitFor(() => t.app.get(WebhookReceiveRoute, { strict: false }).backlog.size === count, 3_000);
    return {
      release: async () => {
        open();
        return (await Promise.all(answers)).map((a) => a.status);
      },
      restore: () => {
        open();
        spy.mockRestore();
      },
    };
  }

  it('below the threshold the api signals nothing and claims go at once', async () => {
    await setUp(10_000, 1);
    const held = await heldAlerts(2);
    try {
      const order = await commitOrder(w, await createUser(w.ds));
      await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 3_000);
      expect(signals).toHaveLength(0);
      expect(await held.release()).toEqual([202, 202]);
    } finally {
      held.restore();
    }
  });

  it('alerts pile up → the worker holds a due order → the alerts are answered → the order is claimed, and the signals stop', async () => {
    await setUp(10_000, 1);
    const held = await heldAlerts(4);
    let answeredAt = 0;
    try {
      await waitFor(() => ingest.backlogged(), 3_000);
      expect(signals[0].signal.in_flight).toBeGreaterThanOrEqual(3);
      // An order falls due while the api is backlogged: it waits, although the worker polls every 20 ms.
      const order = await commitOrder(w, await createUser(w.ds));
      await sleep(800);
      expect((await reload(w.ds, order.id)).status).toBe('pending');
      expect(signals.length).toBeGreaterThanOrEqual(5); // every 100 ms while it lasts
      expect(await held.release()).toEqual([202, 202, 202, 202]);
      answeredAt = Date.now();
      // The api says at its next look that the backlog cleared: claims resume at once, not when its
      // last signal lapses (500 ms after it, 400-500 ms after the answers).
      expect(await waitFor(() => !ingest.backlogged(), 3_000)).toBeLessThan(300);
      await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 3_000);
      const claimed = await reload(w.ds, order.id);
      expect(new Date(claimed.sent_at!).getTime()).toBeGreaterThanOrEqual(answeredAt - 200);
    } finally {
      held.restore();
    }
    const after = signals.length;
    await sleep(400);
    expect(signals.length).toBe(after);
    expect(signals.every((s) => s.at <= answeredAt + 150)).toBe(true);
    // Both sides say what they did.
    expect(logs()).toContain('Webhook intake backlogged; claims wait');
    expect(logs()).toContain('Webhook intake caught up; claims resume');
    expect(logs()).toContain('Webhook intake backlogged; asking workers to yield');
    expect(logs()).toContain('Webhook intake caught up');
  });

  it('a backlog that does not clear delays a due order by the bound, not longer', async () => {
    await setUp(800, 1);
    const held = await heldAlerts(4);
    try {
      await waitFor(() => ingest.backlogged(), 3_000);
      const since = Date.now();
      const order = await commitOrder(w, await createUser(w.ds));
      // Filled while the alerts are still held (the backlog still signalled), after the bound.
      const ms = await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 3_000);
      expect(ms).toBeLessThan(2_000);
      expect(Date.now() - since).toBeGreaterThanOrEqual(500);
      expect(ingest.backlogged()).toBe(true);
      expect(logs()).toContain('still backlogged after the yield bound');
      expect(await held.release()).toEqual([202, 202, 202, 202]);
    } finally {
      held.restore();
    }
  });

  it('a worker whose host has CPU to spare does not wait', async () => {
    await setUp(10_000, 0.3);
    const held = await heldAlerts(4);
    try {
      await waitFor(() => ingest.backlogged(), 3_000);
      const order = await commitOrder(w, await createUser(w.ds));
      await waitFor(async () => (await reload(w.ds, order.id)).status === 'filled', 1_500);
      expect(ingest.backlogged()).toBe(true);
      expect(await held.release()).toEqual([202, 202, 202, 202]);
    } finally {
      held.restore();
    }
  });
});
