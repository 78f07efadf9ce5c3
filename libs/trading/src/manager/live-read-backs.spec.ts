import type { ExchangeGateway, Order } from '../gateway/exchange-gateway';
import { LiveReadBacks, ReadBackItem } from './live-read-backs';
import type { OrderOutcome } from './order-outcome';
import type { OrderTransitions } from './order-transitions';
import { TradingManagerConfig } from './trading-manager.config';

const placed = (id: string): Order => ({
  exchangeOrderId: `x${id}`,
  clientOrderId: `c${id}`,
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  status: 'open',
  amount: '0.001',
  requestedCost: null,
  price: null,
  filled: '0',
  average: null,
  cost: '0',
  fee: '0',
  feeCurrency: null,
  timestamp: 0,
});

/**
 * The read-back queue's timing: reads wait while live sends are under way (up to the deferral
 * bound), start once sends have been quiet for a moment, and never run more than the calls in flight.
 */
describe('LiveReadBacks', () => {
  let reads: string[];
  let written: Array<{ id: string; outcome: OrderOutcome }>;
  let readBacks: LiveReadBacks;
  const gateway = {
    readBack: async (o: Order): Promise<Order> => {
      reads.push(o.clientOrderId!);
      return { ...o, status: 'closed', filled: '0.001', cost: '50' };
    },
  } as unknown as ExchangeGateway;
  const item = (id: string): ReadBackItem => ({ orderId: id, userId: 'u', gateway, placed: placed(id) });

  beforeEach(() => {
    jest.useFakeTimers();
    reads = [];
    written = [];
    const transitions = {
      syncOpenMany: async (items: Array<{ id: string; outcome: OrderOutcome }>) => {
        written.push(...items);
        return new Set(items.map((i) => i.id));
      },
    } as unknown as OrderTransitions;
    readBacks = new LiveReadBacks(transitions, Object.assign(new TradingManagerConfig(), { TRADING_READ_BACK_MAX_DEFER_MS: 10_000, TRADING_LIVE_SENDS_IN_FLIGHT: 2 }));
  });
  afterEach(() => jest.useRealTimers());

  /** Lets timers due by now and the promise chains they start run. */
  const advance = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
  };

  it('with no sends under way, a read starts at once and its outcome is written', async () => {
    readBacks.enqueue([item('1')]);
    const result = readBacks.resultOf('1');
    await advance(1);
    expect(reads).toEqual(['c1']);
    await advance(1);
    await expect(result).resolves.toMatchObject({ applied: true, outcome: { status: 'filled', filled: '0.001' } });
    expect(written.map((w) => w.id)).toEqual(['1']);
    expect(readBacks.resultOf('1')).toBeUndefined();
  });

  it('a steady flow (no claim came back full): reads start at once, even while sends are under way', async () => {
    const sending = readBacks.sendsUnderWay();
    readBacks.enqueue([item('1')]);
    await advance(1);
    expect(reads).toEqual(['c1']);
    sending();
  });

  it('backlogged (a claim came back full), sends under way → reads queued → they wait; sends end → reads start after the quiet moment', async () => {
    const sending = readBacks.sendsUnderWay();
    readBacks.noteBacklog();
    readBacks.enqueue([item('1'), item('2')]);
    await advance(5_000);
    expect(reads).toEqual([]);
    sending();
    await advance(10);
    expect(reads).toEqual([]);
    await advance(50);
    expect(reads).toEqual(['c1', 'c2']);
    // The backlog ended with the quiet moment: the next read goes at once, sends or not.
    const again = readBacks.sendsUnderWay();
    readBacks.enqueue([item('3')]);
    await advance(1);
    expect(reads).toEqual(['c1', 'c2', 'c3']);
    again();
  });

  it('a read waits behind backlogged sends at most TRADING_READ_BACK_MAX_DEFER_MS, even while sends go on', async () => {
    const first = readBacks.sendsUnderWay();
    readBacks.noteBacklog();
    readBacks.enqueue([item('1')]);
    await advance(4_000);
    // Another batch starts before the first ends: sends never pause.
    const second = readBacks.sendsUnderWay();
    first();
    await advance(5_999);
    expect(reads).toEqual([]);
    await advance(1);
    expect(reads).toEqual(['c1']);
    second();
  });

  it('runs at most TRADING_LIVE_SENDS_IN_FLIGHT reads at once', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = { readBack: async (o: Order) => (reads.push(o.clientOrderId!), await held, o) } as unknown as ExchangeGateway;
    readBacks.enqueue(['1', '2', '3'].map((id) => ({ ...item(id), gateway: slow })));
    await advance(1);
    expect(reads).toEqual(['c1', 'c2']);
    release();
    await advance(1);
    expect(reads).toEqual(['c1', 'c2', 'c3']);
  });

  it('close(): the queued reads are dropped (left to the sync), never sent', async () => {
    const sending = readBacks.sendsUnderWay();
    readBacks.noteBacklog();
    readBacks.enqueue([item('1')]);
    const result = readBacks.resultOf('1');
    await readBacks.close();
    await expect(result).resolves.toBeNull();
    sending();
    await advance(20_000);
    expect(reads).toEqual([]);
    expect(readBacks.pendingIds()).toEqual([]);
  });
});
