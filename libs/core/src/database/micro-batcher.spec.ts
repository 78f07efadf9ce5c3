import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('sends items submitted while a batch is in flight together, in order, one result each', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await gate;
        return items.map((i) => i * 10);
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    const first = b.submit(1);
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, 4].map((i) => b.submit(i));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(calls).toEqual([[1], [2, 3, 4]]);
  });

  it('an Error in a slot rejects that item alone; a throw rejects the batch', async () => {
    const b = new MicroBatcher<number, number>(async (items) => items.map((i) => (i === 2 ? new Error('two') : i)), { maxBatch: 10, maxInFlight: 2 });
    const [one, two] = [b.submit(1), b.submit(2)];
    await expect(two).rejects.toThrow('two');
    await expect(one).resolves.toBe(1);
    const failing = new MicroBatcher<number, number>(() => Promise.reject(new Error('down')), { maxBatch: 10, maxInFlight: 1 });
    await expect(Promise.all([failing.submit(1), failing.submit(2)])).rejects.toThrow('down');
  });

  it('splits at maxBatch', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(async (items) => (sizes.push(items.length), items), { maxBatch: 2, maxInFlight: 4 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => b.submit(i)));
    expect(sizes).toEqual([2, 2, 1]);
  });
});
