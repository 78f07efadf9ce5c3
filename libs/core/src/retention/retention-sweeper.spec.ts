import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { RetentionConfig } from './retention-config';
import { RetentionRegistry } from './retention-registry';
import { RetentionSweeper } from './retention-sweeper';

/** A DataSource whose only use here is the advisory lock's query runner. */
function lockDataSource(locked: boolean | Error): DataSource {
  return {
    createQueryRunner: () => ({
      connect: async () => {
        if (locked instanceof Error) throw locked;
      },
      query: async (sql: string) => (sql.includes('pg_try_advisory_lock') ? [{ locked }] : []),
      release: async () => undefined,
    }),
  } as unknown as DataSource;
}

function sweeper(ds: DataSource, registry: RetentionRegistry, env: Record<string, string> = {}): RetentionSweeper {
  const config = RetentionConfig.fromEnv({ RETENTION_BATCH: '10', RETENTION_MAX_BATCHES: '3', ...env });
  return new RetentionSweeper(ds, config, registry, {} as SchedulerRegistry);
}

describe('RetentionSweeper', () => {
  it('loops a policy while batches come back full, up to RETENTION_MAX_BATCHES; a failing policy does not stop the others', async () => {
    const registry = new RetentionRegistry();
    const calls: number[] = [];
    const full = [10, 10, 10, 10];
    registry.register({ name: 'big', purgeBatch: async (_now, limit) => (calls.push(limit), full.shift() ?? 0) });
    registry.register({ name: 'broken', purgeBatch: async () => Promise.reject(new Error('relation does not exist')) });
    registry.register({ name: 'small', purgeBatch: async () => 3 });
    const result = await sweeper(lockDataSource(true), registry).tick();
    expect(result).toEqual({ big: 30, broken: 0, small: 3 });
    expect(calls).toEqual([10, 10, 10]); // capped at 3 batches; the 4th waits for the next sweep
  });

  it('returns null when another replica holds the lock, and when the database is unreachable (never throws)', async () => {
    const registry = new RetentionRegistry();
    registry.register({ name: 'x', purgeBatch: async () => 1 });
    await expect(sweeper(lockDataSource(false), registry).tick()).resolves.toBeNull();
    await expect(sweeper(lockDataSource(new Error('ECONNREFUSED')), registry).tick()).resolves.toBeNull();
  });

  it('refuses two policies with one name, and out-of-range settings name the variable', () => {
    const registry = new RetentionRegistry();
    registry.register({ name: 'x', purgeBatch: async () => 0 });
    expect(() => registry.register({ name: 'x', purgeBatch: async () => 0 })).toThrow('already registered');
    expect(() => RetentionConfig.fromEnv({ WEBHOOK_EVENT_RETENTION_DAYS: '1' })).toThrow('WEBHOOK_EVENT_RETENTION_DAYS');
  });
});
