import type { DataSource } from 'typeorm';

/**
 * "A change's transaction has written, then a request arrives, then the change commits": runs
 * `statements` in a transaction held open, starts `request`, gives it `holdMs` to reach the rows the
 * transaction holds, commits, and answers the request's result. Rolled back if anything throws.
 */
export async function whileHeld<T>(ds: DataSource, statements: Array<[string, unknown[]]>, request: () => Promise<T>, holdMs = 600): Promise<T> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  await qr.startTransaction();
  try {
    for (const [sql, params] of statements) await qr.query(sql, params);
    const answer = request();
    await new Promise((r) => setTimeout(r, holdMs));
    await qr.commitTransaction();
    return await answer;
  } finally {
    if (qr.isTransactionActive) await qr.rollbackTransaction();
    await qr.release();
  }
}
