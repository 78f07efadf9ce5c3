import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';

const guarded = new WeakSet<DataSource>();

/** Thrown instead of hanging: see guardTransactionConnections. */
export class NestedConnectionError extends Error {
  constructor() {
    super(
      'A query asked the connection pool for a second connection while this async context holds an open ' +
        'transaction: pass the transaction\'s EntityManager down instead (on the embedded PGlite this query would hang forever)',
    );
    this.name = 'NestedConnectionError';
  }
}

/**
 * Inside `ds.transaction(cb)`, any query that takes another connection from the pool (ds.query,
 * ds.getRepository(...), ds.manager, a service that does either) throws NestedConnectionError.
 *
 * Why: on the embedded PGlite, pglite-socket serializes whole transactions across its sockets, so
 * such a query waits for the open transaction, which waits for it: the request hangs forever. On
 * a real PostgreSQL it works, but it is also a bug there (the query does not see the
 * transaction's writes and holds a second connection). Enabled on the embedded default, and with
 * DATABASE_TRANSACTION_GUARD=true (the test harness sets it, so every e2e test on the real
 * PostgreSQL walks under it).
 *
 * Mechanism: the callback of DataSource#transaction runs in an AsyncLocalStorage context, and
 * DataSource#createQueryRunner (what every non-transactional query uses) refuses inside it.
 * Explicit query runners (advisory locks, the LISTEN connection) are created outside callbacks.
 */
export function guardTransactionConnections(ds: DataSource): void {
  if (guarded.has(ds)) return;
  guarded.add(ds);
  // One object per transaction, closed when its callback settles: work started inside the callback
  // that runs after the commit (a timer, a fire-and-forget) inherits the store but is not refused.
  const inTransaction = new AsyncLocalStorage<{ open: boolean }>();
  const createQueryRunner = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = ((...args: Parameters<DataSource['createQueryRunner']>) => {
    if (inTransaction.getStore()?.open) throw new NestedConnectionError();
    return createQueryRunner(...args);
  }) as DataSource['createQueryRunner'];

  const manager = ds.manager;
  const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  manager.transaction = ((...args: unknown[]) => {
    // (callback) or (isolation, callback); DataSource#transaction always passes two, one undefined.
    const at = args.findIndex((a) => typeof a === 'function');
    if (at >= 0) {
      const run = args[at] as (m: EntityManager) => Promise<unknown>;
      // The transaction's own query runner is created by the original before the callback runs.
      args[at] = (m: EntityManager) => {
        const tx = { open: true };
        return inTransaction.run(tx, async () => {
          try {
            return await run(m);
          } finally {
            tx.open = false;
          }
        });
      };
    }
    return transaction(...args);
  }) as EntityManager['transaction'];
}
