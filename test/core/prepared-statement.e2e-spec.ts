import type { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { PreparedStatement } from '@torgovo/core';
import { createTestDatabase, TestDatabase } from '../support/database';

// The webhook accept statement runs as a named prepared statement on a PostgreSQL server: each pooled
// connection parses it once. These are the ways a prepared statement goes wrong.
describe('PreparedStatement on PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(`CREATE TABLE prepared_probe (id int PRIMARY KEY, label text NOT NULL)`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const insert = `INSERT INTO prepared_probe (id, label) SELECT * FROM unnest($1::int[], $2::text[]) RETURNING id, label`;

  it('runs on every pooled connection at once, each preparing it for itself, with any batch size', async () => {
    const statement = new PreparedStatement(db.dataSource, 'probe', true);
    const batches = Array.from({ length: 12 }, (_, b) => Array.from({ length: b + 1 }, (_, i) => b * 100 + i));
    const results = await Promise.all(batches.map((ids) => statement.query<{ id: number; label: string }>(insert, [ids, ids.map((id) => `n${id}`)])));
    results.forEach((rows, b) => expect(rows.map((r) => r.id).sort((x, y) => x - y)).toEqual(batches[b]));
    // It really was prepared (named), on more than one connection of the pool.
    const pool = (db.dataSource.driver as PostgresDriver).master as Pool;
    expect(pool.totalCount).toBeGreaterThan(1);
    const [{ n }] = (await db.dataSource.query(`SELECT count(*)::int AS n FROM prepared_probe`)) as Array<{ n: number }>;
    expect(n).toBe(batches.flat().length);
  });

  it('prepared, then the table changes (a migration while the api runs), then the next run: replanned, not failed', async () => {
    const statement = new PreparedStatement(db.dataSource, 'probe', true);
    await statement.query(insert, [[5000], ['before']]);
    await db.dataSource.query(`ALTER TABLE prepared_probe ADD COLUMN note text DEFAULT 'x'`);
    await db.dataSource.query(`CREATE INDEX prepared_probe_label_idx ON prepared_probe (label)`);
    await expect(statement.query(insert, [[5001], ['after']])).resolves.toEqual([{ id: 5001, label: 'after' }]);
  });

  it('another text under the same label is another statement: it never runs under the first text’s name', async () => {
    const statement = new PreparedStatement(db.dataSource, 'probe', true);
    const byLabel = `SELECT label FROM prepared_probe WHERE id = $1::int`;
    const byId = `SELECT id FROM prepared_probe WHERE id = $1::int`;
    await expect(statement.query(byLabel, [5001])).resolves.toEqual([{ label: 'after' }]);
    await expect(statement.query(byId, [5001])).resolves.toEqual([{ id: 5001 }]);
    await expect(statement.query(byLabel, [5000])).resolves.toEqual([{ label: 'before' }]);
  });

  it('unnamed (the embedded PGlite, one session for every connection) runs through TypeORM as any query', async () => {
    const statement = new PreparedStatement(db.dataSource, 'probe', false);
    await expect(statement.query(`SELECT $1::int + 1 AS n`, [41])).resolves.toEqual([{ n: 42 }]);
  });
});
