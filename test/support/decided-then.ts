import type { PlacementBatchDecider, PlacementDecider, TradingManager } from '@torgovo/trading';
import type { HttpResult } from './app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * "An order is decided, then a change, then its send": the next placement decision commits (sent_at
 * set, lease renewed), then `change` is requested, then — after the change had ample time (400 ms)
 * to answer — the executor goes on to send. `answeredBeforeSend`: the change answered during that
 * pause, i.e. before the order reached the exchange (what a fenced change must not do). A
 * PlacementBatchDecider: the same around the next batch decision (live batches).
 */
export async function decidedThen<T = HttpResult>(
  decider: PlacementDecider | PlacementBatchDecider,
  manager: TradingManager,
  change: () => Promise<T>,
): Promise<{ res: T; answeredAt: number; answeredBeforeSend: boolean }> {
  let answeredAt = 0;
  let pending: Promise<T> | undefined;
  let answeredBeforeSend = false;
  const around = async <V>(decision: Promise<V>): Promise<V> => {
    const verdict = await decision;
    pending = change().then((r) => {
      answeredAt = Date.now();
      return r;
    });
    await sleep(400);
    answeredBeforeSend = answeredAt !== 0;
    return verdict;
  };
  if ('decideBatch' in decider) {
    const original = decider.decideBatch.bind(decider);
    jest.spyOn(decider, 'decideBatch').mockImplementationOnce((...args) => around(original(...args)));
  } else {
    const original = decider.decide.bind(decider);
    jest.spyOn(decider, 'decide').mockImplementationOnce((...args) => around(original(...args)));
  }
  await manager.runOnce();
  return { res: await pending!, answeredAt, answeredBeforeSend };
}
