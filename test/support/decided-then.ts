import type { PlacementDecider, TradingManager } from '@torgovo/trading';
import type { HttpResult } from './app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * "An order is decided, then a change, then its send": the next placement decision commits (sent_at
 * set, lease renewed), then `change` is requested, then — after the change had ample time (400 ms)
 * to answer — the executor goes on to send. `answeredBeforeSend`: the change answered during that
 * pause, i.e. before the order reached the exchange (what a fenced change must not do).
 */
export async function decidedThen<T = HttpResult>(
  decider: PlacementDecider,
  manager: TradingManager,
  change: () => Promise<T>,
): Promise<{ res: T; answeredAt: number; answeredBeforeSend: boolean }> {
  const original = decider.decide.bind(decider);
  let answeredAt = 0;
  let pending: Promise<T> | undefined;
  let answeredBeforeSend = false;
  jest.spyOn(decider, 'decide').mockImplementationOnce(async (...args) => {
    const verdict = await original(...args);
    pending = change().then((r) => {
      answeredAt = Date.now();
      return r;
    });
    await sleep(400);
    answeredBeforeSend = answeredAt !== 0;
    return verdict;
  });
  await manager.runOnce();
  return { res: await pending!, answeredAt, answeredBeforeSend };
}
