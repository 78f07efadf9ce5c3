import { PGliteSessionQueue, PGliteSession } from './pglite-session-queue';

// A stand-in session that records the order messages reach it and tracks BEGIN/COMMIT.
function fakeSession() {
  const seen: string[] = [];
  let inTx = false;
  let failNext = false;
  const db: PGliteSession = {
    isInTransaction: () => inTx,
    runExclusive: (<T>(fn: () => Promise<T>) => fn()) as PGliteSession['runExclusive'],
    execProtocolRawStream: (async (message: Uint8Array) => {
      await new Promise((r) => setImmediate(r));
      const text = Buffer.from(message).toString('latin1');
      seen.push(text);
      if (failNext) {
        failNext = false;
        throw new Error('boom');
      }
      if (text.includes('BEGIN')) inTx = true;
      if (text.includes('COMMIT') || text.includes('ROLLBACK')) inTx = false;
    }) as unknown as PGliteSession['execProtocolRawStream'],
  };
  return { db, seen, failOnce: () => (failNext = true) };
}

const msg = (type: string, body = '') => {
  const b = Buffer.from(body, 'latin1');
  const out = Buffer.alloc(5 + b.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return new Uint8Array(out);
};

/** Sends a connection's messages one after another, as PGLiteSocketHandler does. */
async function client(q: PGliteSessionQueue, id: number, messages: Uint8Array[]) {
  for (const m of messages) await q.enqueue(id, m, () => undefined);
}

const tag = (s: string) => s.slice(0, 1) + s.slice(5);

describe('PGliteSessionQueue', () => {
  it('runs one connection’s extended-protocol batch (Parse…Sync) without another’s messages in between', async () => {
    const { db, seen } = fakeSession();
    const q = new PGliteSessionQueue(db);
    await Promise.all([
      client(q, 1, [msg('P', 'a'), msg('B', 'a'), msg('E', 'a'), msg('S')]),
      client(q, 2, [msg('P', 'b'), msg('B', 'b'), msg('E', 'b'), msg('S')]),
    ]);
    const order = seen.map(tag);
    expect(order).toEqual(['Pa', 'Ba', 'Ea', 'S', 'Pb', 'Bb', 'Eb', 'S']);
  });

  it('keeps the session for a connection inside BEGIN…COMMIT', async () => {
    const { db, seen } = fakeSession();
    const q = new PGliteSessionQueue(db);
    await Promise.all([
      client(q, 1, [msg('Q', 'BEGIN'), msg('Q', 'x1'), msg('Q', 'COMMIT')]),
      client(q, 2, [msg('Q', 'y1'), msg('Q', 'y2')]),
    ]);
    const order = seen.map(tag);
    expect(order.indexOf('Qy1')).toBeGreaterThan(order.indexOf('QCOMMIT'));
  });

  it('a connection that goes away mid-transaction is synced and rolled back, and the others go on', async () => {
    const { db, seen } = fakeSession();
    const q = new PGliteSessionQueue(db);
    await client(q, 1, [msg('Q', 'BEGIN'), msg('P', 'half')]);
    const other = client(q, 2, [msg('Q', 'after')]);
    await q.clearTransactionIfNeeded(1);
    await other;
    expect(seen.map(tag)).toEqual(['QBEGIN', 'Phalf', 'S', 'QROLLBACK\0', 'Qafter']);
  });

  it('a PGlite error fails that message only; the queue keeps serving after the connection is released', async () => {
    const { db, seen, failOnce } = fakeSession();
    const q = new PGliteSessionQueue(db);
    failOnce();
    await expect(client(q, 1, [msg('P', 'bad')])).rejects.toThrow('boom');
    q.clearQueueForHandler(1);
    await q.clearTransactionIfNeeded(1);
    await client(q, 2, [msg('Q', 'ok')]);
    expect(seen.map(tag)).toEqual(['Pbad', 'S', 'Qok']);
  });
});
