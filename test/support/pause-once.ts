/**
 * "A has done its read, then B changes state, then A's effect": the next call of `obj[method]` runs
 * for real and then waits (or, `before`, waits and then runs) until `release()`. `reached` resolves
 * when the call gets to the pause. Call `release()` in a `finally` too: a test failing while the call
 * waits would otherwise hang the app's close. Restore with jest.restoreAllMocks().
 */
export function pauseOnce<T extends object>(obj: T, method: keyof T & string, at: 'after' | 'before' = 'after'): { reached: Promise<void>; release: () => void } {
  const original = (obj[method] as unknown as (...args: unknown[]) => Promise<unknown>).bind(obj);
  let arrive!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const spy = jest.spyOn(obj as Record<string, (...args: unknown[]) => Promise<unknown>>, method);
  spy.mockImplementationOnce(async (...args: unknown[]) => {
    if (at === 'before') {
      arrive();
      await released;
      return original(...args);
    }
    const out = await original(...args);
    arrive();
    await released;
    return out;
  });
  return { reached, release };
}
