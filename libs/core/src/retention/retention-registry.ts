import { Injectable, Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RetentionConfig } from './retention-config';

/**
 * One kind of row that is deleted when old. `purgeBatch` deletes at most `limit` rows older
 * than the policy's own cutoff (computed from `now`) in ONE statement and returns how many it
 * deleted: set-wise, index-driven, safe to run on several replicas at once (the sweeper also
 * takes an advisory lock). A policy lives in the lib that owns the table.
 */
export interface RetentionPolicy {
  readonly name: string;
  purgeBatch(now: Date, limit: number): Promise<number>;
}

/** The worker's RetentionSweeper runs every registered policy. */
@Injectable()
export class RetentionRegistry {
  private readonly items: RetentionPolicy[] = [];

  register(policy: RetentionPolicy): void {
    if (this.items.some((p) => p.name === policy.name)) throw new Error(`Retention policy ${policy.name} is already registered`);
    this.items.push(policy);
  }

  get policies(): readonly RetentionPolicy[] {
    return this.items;
  }
}

export interface SqlRetentionSpec {
  name: string;
  /**
   * One statement taking `$1` = cutoff and `$2` = batch limit: either a DELETE, whose row count
   * is what was deleted, e.g. `DELETE FROM t WHERE id IN (SELECT id FROM t WHERE created_at < $1 LIMIT $2)`,
   * or data-modifying CTEs ending in a SELECT of one row with the deleted count as `n`.
   */
  sql: string;
  cutoff(now: Date, config: RetentionConfig): Date;
}

export function sqlRetentionPolicy(ds: DataSource, config: RetentionConfig, spec: SqlRetentionSpec): RetentionPolicy {
  return {
    name: spec.name,
    async purgeBatch(now, limit) {
      const result = (await ds.query(spec.sql, [spec.cutoff(now, config), limit])) as [unknown[], number] | Array<{ n: number | string }>;
      // pg answers a DELETE with [rows, rowCount] and a SELECT with its rows.
      return Array.isArray(result[0]) ? Number(result[1]) : Number((result[0] as { n: number | string } | undefined)?.n ?? 0);
    },
  };
}

/**
 * A provider that registers a SQL retention policy when its module is instantiated: list it in
 * the providers of the lib that owns the table. CoreModule (global) provides the registry.
 */
export function retentionPolicy(spec: SqlRetentionSpec): Provider {
  return {
    provide: `retention-policy:${spec.name}`,
    inject: [DataSource, RetentionConfig, RetentionRegistry],
    useFactory: (ds: DataSource, config: RetentionConfig, registry: RetentionRegistry) => {
      const policy = sqlRetentionPolicy(ds, config, spec);
      registry.register(policy);
      return policy;
    },
  };
}
