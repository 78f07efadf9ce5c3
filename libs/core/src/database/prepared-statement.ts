import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * A hot statement run as a named prepared statement (node-postgres' `{ name, text, values }`): each
 * pooled connection parses and analyses its text once, then sends only Bind/Execute, instead of
 * sending and parsing a several-kilobyte text for every batch. The name is derived from the text,
 * so a statement whose text changes (another build, another column list) is another statement and
 * never runs under a stale name.
 *
 * Only on a PostgreSQL server. The embedded PGlite is ONE session shared by every pooled connection
 * (PGliteSessionQueue): a name prepared through one connection would already exist when another
 * connection, which does not know it, prepares it again. There the statement runs unnamed.
 */
export class PreparedStatement {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly ds: DataSource,
    private readonly label: string,
    private readonly named: boolean,
  ) {}

  async query<R>(sql: string, params: unknown[]): Promise<R[]> {
    if (!this.named) return (await this.ds.query(sql, params)) as R[];
    const pool = (this.ds.driver as PostgresDriver).master as Pool;
    const result = await pool.query({ name: this.nameOf(sql), text: sql, values: params });
    return result.rows as R[];
  }

  private nameOf(sql: string): string {
    let name = this.names.get(sql);
    if (!name) {
      name = `${this.label}_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
      this.names.set(sql, name);
    }
    return name;
  }
}
