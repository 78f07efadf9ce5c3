import { createTestDatabase, TestDatabase } from '../support/database';

describe('test harness', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('clones a migrated database', async () => {
    const rows = (await db.dataSource.query(`SELECT name FROM migrations ORDER BY id`)) as Array<{ name: string }>;
    expect(rows.map((r) => r.name)).toContain('Foundation1763900000000');
  });
});
