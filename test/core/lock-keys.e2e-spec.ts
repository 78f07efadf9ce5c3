import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every periodic job and exclusive pass takes `pg_try_advisory_lock(key)` (one-key space): two jobs
 * with the same key skip each other's ticks on every replica. Found so: the notification fan-out and
 * the payment revenue compaction shared 7_204_620. Read from the sources, so a new key is checked too.
 */
describe('advisory lock keys', () => {
  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sources(path);
      return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
    });
  }

  it('each *_LOCK_KEY names its own key', () => {
    const keys = new Map<string, string[]>();
    for (const file of sources(join(__dirname, '..', '..', 'libs'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/export const (\w+_LOCK_KEY) = ([\d_]+);/g)) {
        const value = m[2].replace(/_/g, '');
        keys.set(value, [...(keys.get(value) ?? []), m[1]]);
      }
    }
    expect(keys.size).toBeGreaterThan(10);
    expect([...keys.entries()].filter(([, names]) => names.length > 1)).toEqual([]);
  });
});
