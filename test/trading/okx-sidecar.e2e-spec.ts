import { readFileSync } from 'node:fs';
import { AppConfig, OkxMethod, OkxSidecar } from '@torgovo/core';
import { LiveExchangeGateway, OkxEndpoint } from '@torgovo/trading';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { credentialsOf, exchangeFailure } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The api's OKX calls in the OKX call process (OKX_CALLS=sidecar): the same gateway, the same fake
 * OKX checking every signature, the calls run by ccxt in a child process.
 */
describe('OKX calls through the OKX call process (OkxSidecar)', () => {
  let fake: FakeOkxServer;
  let account: FakeAccount;
  let sidecar: OkxSidecar;
  let endpoint: OkxEndpoint;

  const gatewayFor = (a: FakeAccount) => new LiveExchangeGateway(endpoint, credentialsOf(a));

  beforeAll(async () => {
    fake = await new FakeOkxServer().start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    const config = AppConfig.fromEnv({
      NODE_ENV: 'test',
      JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      OKX_SIDECAR_IDLE_SECONDS: '1',
    });
    sidecar = new OkxSidecar(config);
    endpoint = new OkxEndpoint({ apiUrl: fake.url }, (options) => sidecar.runnerFor(options));
    account = fake.addAccount({ balances: { USDT: '10000', BTC: '0.5' } });
    fake.requests.length = 0;
  });
  afterEach(() => {
    fake.clearFaults();
    fake.latencyMs = 0;
    sidecar.onModuleDestroy();
  });

  it('gives what ccxt in this process gives: key permissions, the exact balance, an order placed, read back and cancelled — each signed with its own keys', async () => {
    const g = gatewayFor(account);
    await expect(g.fetchKeyPermissions()).resolves.toMatchObject({ read: true, trade: true, withdraw: false });
    await expect(g.fetchBalance()).resolves.toEqual({
      BTC: { free: '0.5', used: '0', total: '0.5' },
      USDT: { free: '10000', used: '0', total: '10000' },
    });
    const filled = await g.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '0.001', clientOrderId: 'side1' });
    expect(filled).toMatchObject({ status: 'closed', filled: '0.001', clientOrderId: 'side1' });
    const open = await g.createOrder({ symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.001', price: '1000', clientOrderId: 'side2' });
    expect(open.status).toBe('open');
    await expect(g.cancelOrder({ id: open.exchangeOrderId, symbol: 'BTC/USDT' })).resolves.toMatchObject({ status: 'canceled' });

    // Two accounts at once through one call process: the fake checks each signature against that account's secret.
    const other = fake.addAccount({ balances: { USDT: '5' } });
    const [a, b] = await Promise.all([gatewayFor(account).fetchBalance(), gatewayFor(other).fetchBalance()]);
    expect(a.USDT?.free).not.toBe(b.USDT?.free);
    expect(b.USDT).toEqual({ free: '5', used: '0', total: '5' });
  });

  it("keeps OKX's refusals' meaning across the process boundary: a wrong secret, a rate limit, a server error", async () => {
    await expect(exchangeFailure(gatewayFor({ ...account, secret: 'a-wrong-secret' }).fetchBalance())).resolves.toMatchObject({
      kind: 'permanent',
      code: 'authentication_failed',
      exchangeCode: '50113',
      reason: 'Invalid Sign.',
    });
    fake.inject('rate_limit');
    await expect(exchangeFailure(gatewayFor(account).fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'rate_limited' });
    fake.inject('server_error');
    await expect(exchangeFailure(gatewayFor(account).fetchBalance())).resolves.toMatchObject({ kind: 'transient' });
  });

  it("starts with none of the app's secrets in its environment (keys cross only with the call, over the channel)", async () => {
    await gatewayFor(account).fetchBalance();
    const pid = sidecar.pid!;
    const names = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => kv.slice(0, kv.indexOf('=')));
    // Node adds its IPC channel's own (NODE_CHANNEL_FD, NODE_CHANNEL_SERIALIZATION_MODE).
    expect(names.filter((n) => !n.startsWith('NODE_CHANNEL_'))).toEqual(expect.arrayContaining(['PATH']));
    expect(names.filter((n) => !n.startsWith('NODE_CHANNEL_') && !['PATH', 'NODE_ENV', 'TZ'].includes(n))).toEqual([]);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(account.secret);
  });

  it('a call in flight when the process dies fails as network trouble (transient, nothing assumed); the next call starts a new process', async () => {
    await gatewayFor(account).fetchBalance();
    const first = sidecar.pid!;
    fake.latencyMs = 2_000;
    const inFlight = exchangeFailure(gatewayFor(account).fetchBalance());
    await until(() => fake.requests.length >= 2);
    process.kill(first, 'SIGKILL');
    await expect(inFlight).resolves.toMatchObject({ kind: 'transient', code: 'network_error' });
    await until(() => !alive(first));
    fake.latencyMs = 0;
    await expect(gatewayFor(account).fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
    expect(sidecar.pid).toBeDefined();
    expect(sidecar.pid).not.toBe(first);
  });

  it('ends OKX_SIDECAR_IDLE_SECONDS after its last answer, not while a call is in flight, and starts again on the next call', async () => {
    await gatewayFor(account).fetchBalance();
    const first = sidecar.pid!;
    // A call longer than the idle time keeps it.
    fake.latencyMs = 1_500;
    await gatewayFor(account).fetchBalance();
    expect(sidecar.pid).toBe(first);
    expect(alive(first)).toBe(true);
    fake.latencyMs = 0;
    await until(() => sidecar.pid === undefined && !alive(first), 5_000);
    await expect(gatewayFor(account).fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
    expect(sidecar.pid).not.toBe(first);
  });

  it('an idle end, then a call before the ended process has exited: the call runs in a new process and is answered (the old exit fails only its own calls)', async () => {
    await gatewayFor(account).fetchBalance();
    const first = sidecar.pid!;
    // What the idle timer does, now: the channel closes and the child exits a few ms later.
    (sidecar as unknown as { stop(why: string): void }).stop('idle');
    expect(alive(first)).toBe(true);
    const next = gatewayFor(account).fetchBalance();
    await until(() => !alive(first));
    await expect(next).resolves.toMatchObject({ USDT: { free: '10000' } });
    expect(sidecar.pid).not.toBe(first);
  });

  it('a process that stops answering: the call fails as a timeout (transient) after its own timeout + 5 s, and the next call runs in a new process', async () => {
    const quick = new OkxEndpoint({ apiUrl: fake.url, timeoutMs: 300 }, (options) => sidecar.runnerFor(options));
    await new LiveExchangeGateway(quick, credentialsOf(account)).fetchBalance();
    const first = sidecar.pid!;
    process.kill(first, 'SIGSTOP');
    try {
      await expect(exchangeFailure(new LiveExchangeGateway(quick, credentialsOf(account)).fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'timeout' });
      await expect(new LiveExchangeGateway(quick, credentialsOf(account)).fetchBalance()).resolves.toMatchObject({ USDT: { free: '10000' } });
      expect(sidecar.pid).not.toBe(first);
      await until(() => !alive(first), 10_000); // the replaced one is killed (it cannot read the channel's close)
    } finally {
      if (alive(first)) process.kill(first, 'SIGKILL');
    }
  }, 30_000);

  it('runs only the OKX methods on its list: a withdrawal is refused in the child and never reaches OKX', async () => {
    const withdrawal = sidecar.run({ apiUrl: fake.url }, credentialsOf(account), { method: 'privatePostAssetWithdrawal' as OkxMethod, params: { ccy: 'USDT', amt: '1' } });
    await expect(withdrawal).rejects.toThrow('not an OKX method the call process runs');
    expect(fake.requests).toHaveLength(0);
  });

  it('once the app stops, the process is ended and a call fails at once', async () => {
    await gatewayFor(account).fetchBalance();
    const pid = sidecar.pid!;
    sidecar.onModuleDestroy();
    await until(() => !alive(pid), 5_000);
    await expect(exchangeFailure(gatewayFor(account).fetchBalance())).resolves.toMatchObject({ kind: 'transient', code: 'network_error' });
    expect(fake.requests.filter((r) => r.url.startsWith('/api/v5/account/balance'))).toHaveLength(1);
  });
});
