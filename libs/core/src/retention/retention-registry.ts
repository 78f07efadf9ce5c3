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
   * One DELETE statement (a data-modifying CTE may delete dependent rows first) taking
   * `$1` = cutoff and `$2` = batch limit; its row count is what was deleted, e.g.
   * `DELETE FROM t WHERE id IN (SELECT id FROM t WHERE created_at < $1 LIMIT $2)`.
   */
  sql: string;
  cutoff(now: Date, config: RetentionConfig): Date;
}

export function sqlRetentionPolicy(ds: DataSource, config: RetentionConfig, spec: SqlRetentionSpec): RetentionPolicy {
  return {
    name: spec.name,
    async purgeBatch(now, limit) {
      const [, n] = (await ds.query(spec.sql, [spec.cutoff(now, config), limit])) as [unknown, number];
      return n;
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
