import { DataSource } from 'typeorm';
import { NestedConnectionError } from '@torgovo/core';
import { User } from '@torgovo/users';
import { createTestApp, TestApp } from '../support/app';

describe('transaction guard (the e2e harness runs every test under it)', () => {
  let t: TestApp;
  let ds: DataSource;

  beforeAll(async () => {
    t = await createTestApp();
    ds = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('inside a transaction, a query on another pooled connection throws instead of hanging on PGlite', async () => {
    await expect(ds.transaction(async () => ds.query('SELECT 1'))).rejects.toBeInstanceOf(NestedConnectionError);
    await expect(ds.transaction(async () => ds.getRepository(User).count())).rejects.toBeInstanceOf(NestedConnectionError);
    // Also from a promise chain started inside the callback, and with an isolation level.
    await expect(ds.transaction('SERIALIZABLE', async () => Promise.resolve().then(() => ds.manager.count(User)))).rejects.toBeInstanceOf(
      NestedConnectionError,
    );
  });

  it("the transaction's own manager, and the pool outside any transaction, work as usual", async () => {
    await expect(ds.transaction(async (m) => m.query('SELECT 1 AS one'))).resolves.toEqual([{ one: 1 }]);
    await expect(ds.transaction(async (m) => m.getRepository(User).count())).resolves.toEqual(expect.any(Number));
    await expect(ds.query('SELECT 2 AS two')).resolves.toEqual([{ two: 2 }]);
    // Two transactions at once, each on its own connection.
    await expect(Promise.all([ds.transaction((m) => m.query('SELECT 1')), ds.transaction((m) => m.query('SELECT 1'))])).resolves.toHaveLength(2);
  });
});
