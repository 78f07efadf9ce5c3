import { Logger } from '@nestjs/common';
import { decodeIngestBusy, encodeIngestBusy, HOST_SAMPLE_MS, INGEST_SIGNAL_TTL_MS, IngestYield } from './ingest-yield';
import { HostCpu } from './host-cpu';
import { TradingManagerConfig } from './trading-manager.config';

function yieldWith(maxMs: number, hostBusy: number | null = 1): { y: IngestYield; host: { busy: number | null } } {
  const config = TradingManagerConfig.fromEnv({ TRADING_INGEST_YIELD_MAX_MS: String(maxMs) });
  const y = new IngestYield(config);
  const host = { busy: hostBusy };
  y.host = { busySince: () => host.busy };
  return { y, host };
}

const busy = (inFlight = 500) => encodeIngestBusy({ api: 'host:1', in_flight: inFlight });

beforeAll(() => Logger.overrideLogger(false));

describe('IngestYield: claims wait for a backlogged api, bounded', () => {
  it('defers nothing without a signal', () => {
    expect(yieldWith(3_000).y.deferMs(1_000)).toBe(0);
  });

  it('a signal defers claims until it lapses; the next one re-arms it', () => {
    const { y } = yieldWith(3_000);
    y.note(busy(), 0);
    expect(y.backlogged(10)).toBe(true);
    // The first poll reads the host after a sample's length: until then the signal alone counts.
    expect(y.deferMs(10)).toBe(HOST_SAMPLE_MS - 10);
    y.note(busy(), 300);
    expect(y.deferMs(350)).toBeGreaterThan(0);
    expect(y.deferMs(300 + INGEST_SIGNAL_TTL_MS - 1)).toBe(1);
    // No signal for the TTL: the api caught up (or died); claims go, and the episode ends.
    expect(y.deferMs(300 + INGEST_SIGNAL_TTL_MS)).toBe(0);
    expect(y.backlogged(300 + INGEST_SIGNAL_TTL_MS)).toBe(false);
    // A new burst: a new episode, with its own bound.
    y.note(busy(), 5_000);
    expect(y.deferMs(5_010)).toBeGreaterThan(0);
  });

  it("an api's word that its backlog cleared ends the wait at once; with two apis busy, only both words do", () => {
    const { y } = yieldWith(3_000);
    const calm = (api: string) => encodeIngestBusy({ api, in_flight: 3, busy: false });
    y.note(encodeIngestBusy({ api: 'a:1', in_flight: 500 }), 0);
    y.note(encodeIngestBusy({ api: 'b:2', in_flight: 400 }), 10);
    expect(y.deferMs(20)).toBeGreaterThan(0);
    expect(y.note(calm('a:1'), 30)).toBe(false); // b:2 is still busy
    expect(y.deferMs(40)).toBeGreaterThan(0);
    expect(y.note(calm('b:2'), 50)).toBe(true);
    expect(y.backlogged(50)).toBe(false);
    expect(y.deferMs(50)).toBe(0);
    // A calm word from an api that was not busy changes nothing.
    expect(y.note(calm('c:3'), 60)).toBe(false);
  });

  it('never waits past the bound while signals keep coming, and does not wait again until they stop', () => {
    const { y } = yieldWith(1_000);
    for (let t = 0; t <= 3_000; t += 100) {
      y.note(busy(), t);
      const wait = y.deferMs(t + 1);
      if (t + 1 < 1_000) expect(t + 1 + wait).toBeLessThanOrEqual(1_000);
      else expect(wait).toBe(0);
    }
    // Calm, then a new backlog: waits again.
    expect(y.deferMs(3_000 + INGEST_SIGNAL_TTL_MS)).toBe(0);
    y.note(busy(), 10_000);
    expect(y.deferMs(10_001)).toBeGreaterThan(0);
  });

  it('claims at once while the host is under half busy, and waits again once it is over', () => {
    const { y, host } = yieldWith(3_000, 0.3);
    y.note(busy(), 0);
    y.note(busy(), 100);
    expect(y.deferMs(HOST_SAMPLE_MS)).toBe(0); // read: 30 % busy
    host.busy = 0.6; // over half busy: the api and its backends need the rest
    y.note(busy(), 200);
    expect(y.deferMs(HOST_SAMPLE_MS + 50)).toBe(0); // the last reading stands for a sample's length
    expect(y.deferMs(2 * HOST_SAMPLE_MS)).toBe(HOST_SAMPLE_MS); // read again: saturated, look again in 100 ms
  });

  it('waits on the signal alone where the host cannot be read', () => {
    const { y } = yieldWith(3_000, null);
    y.note(busy(), 0);
    y.note(busy(), 100);
    expect(y.deferMs(150)).toBeGreaterThan(0);
  });

  it('TRADING_INGEST_YIELD_MAX_MS=0 never waits; a payload it cannot read is ignored', () => {
    const off = yieldWith(0).y;
    off.note(busy(), 0);
    expect(off.deferMs(1)).toBe(0);
    const { y } = yieldWith(3_000);
    for (const bad of [undefined, '', 'probe', '{"in_flight":"many"}', '[]', 'null']) y.note(bad, 0);
    expect(y.backlogged(1)).toBe(false);
    expect(y.deferMs(1)).toBe(0);
  });

  it('the signal round-trips', () => {
    expect(decodeIngestBusy(encodeIngestBusy({ api: 'a:1', in_flight: 7 }))).toEqual({ api: 'a:1', in_flight: 7, busy: true });
    expect(decodeIngestBusy(encodeIngestBusy({ api: 'a:1', in_flight: 2, busy: false }))).toEqual({ api: 'a:1', in_flight: 2, busy: false });
  });
});

describe('HostCpu (/proc/stat)', () => {
  const stat = (user: number, idle: number) => `cpu  ${user} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n`;

  it('reads the busy share of all CPUs between two calls', () => {
    let text = stat(100, 100);
    const cpu = new HostCpu(() => text);
    expect(cpu.busySince()).toBeNull(); // no window yet
    text = stat(190, 110); // 90 busy jiffies of 100
    expect(cpu.busySince()).toBeCloseTo(0.9);
    text = stat(190, 110); // no time passed
    expect(cpu.busySince()).toBeNull();
  });

  it('is null where /proc/stat cannot be read or parsed', () => {
    expect(
      new HostCpu(() => {
        throw new Error('ENOENT');
      }).busySince(),
    ).toBeNull();
    const odd = new HostCpu(() => 'nothing here');
    expect(odd.busySince()).toBeNull();
  });

  it('reads this machine', () => {
    const cpu = new HostCpu();
    cpu.busySince();
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += i; // some time passes
    const busy = cpu.busySince();
    if (busy !== null) expect(busy).toBeGreaterThanOrEqual(0);
    expect(x).toBeGreaterThan(0);
  });
});
