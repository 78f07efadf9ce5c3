import type { PGlite } from '@electric-sql/pglite';

/** What PGlite needs to run frontend messages; the real PGlite, or a stand-in in unit tests. */
export type PGliteSession = Pick<PGlite, 'runExclusive' | 'execProtocolRawStream' | 'isInTransaction'>;

interface Pending {
  handlerId: number;
  /** A frontend message, or null for the clean-up run when a connection goes away. */
  message: Uint8Array | null;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'
const PROTOCOL_3 = 196608;

/**
 * PGlite is ONE PostgreSQL session; pglite-socket multiplexes many client connections onto it.
 * pglite-socket 0.2.17's own queue interleaves single protocol messages of different connections
 * and pins the session to a connection only inside BEGIN…COMMIT. That breaks the extended query
 * protocol, whose state lives until ReadyForQuery: connection B's Bind replaces A's unnamed
 * portal between A's Bind and Execute (`portal "" cannot be run`), and after an error the
 * session discards every message until a Sync — including other connections' (rows lost).
 * (electric-sql/pglite#1046, #977.) Its queue also stops for good when PGlite throws.
 *
 * Here a connection owns the session from its first message of a batch until the ReadyForQuery
 * that ends it (after Sync or a simple Query), and for as long as it holds a transaction block.
 * Other connections' messages wait, in arrival order. This is exactly what a single-session
 * database can do concurrently: one statement batch or one transaction at a time.
 */
export class PGliteSessionQueue {
  private readonly queue: Pending[] = [];
  private owner: number | null = null;
  private running = false;

  constructor(private readonly db: PGliteSession) {}

  /** Called by PGLiteSocketHandler for each complete frontend message, one at a time per connection. */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.pump();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** The connection closed: its queued messages will never be answered. */
  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i];
      if (item.handlerId === handlerId && item.message !== null) {
        this.queue.splice(i, 1);
        item.reject(new Error('Handler disconnected'));
      }
    }
  }

  /**
   * The connection closed: if it holds the session (mid-batch or in a transaction), end its batch
   * and roll its transaction back, so the next connection starts clean. Queued behind whatever
   * runs now, so a message of this connection already running cannot re-take the session after.
   */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ handlerId, message: null, onData: () => undefined, resolve: () => resolve(), reject: () => resolve() });
      void this.pump();
    });
  }

  private next(): Pending | undefined {
    const i = this.owner === null ? 0 : this.queue.findIndex((q) => q.handlerId === this.owner);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        if (item.message === null) {
          await this.release(item.handlerId);
          item.resolve(0);
          continue;
        }
        const message = item.message;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          // The connection is dropped by its handler (which then releases the session); the
          // queue goes on serving the others.
          this.owner = item.handlerId;
          item.reject(err instanceof Error ? err : new Error(String(err)));
          continue;
        }
        this.owner = this.ownerAfter(item.handlerId, message);
        item.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }

  /** Who holds the session once `message` of `handlerId` has been answered. */
  private ownerAfter(handlerId: number, message: Uint8Array): number | null {
    const isStartup = message.length >= 8 && new DataView(message.buffer, message.byteOffset).getInt32(4) === PROTOCOL_3;
    if (isStartup) return this.owner;
    const type = message[0];
    if (type === TERMINATE) return null;
    // ReadyForQuery has been sent: the batch is over; a transaction block keeps the session.
    if (type === SYNC || type === QUERY) return this.db.isInTransaction() ? handlerId : null;
    // Parse, Bind, Describe, Execute, Close, Flush…: the batch goes on until its Sync.
    return handlerId;
  }

  private async release(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    try {
      await this.db.runExclusive(async () => {
        const discard = { onRawData: () => undefined };
        // Ends an unfinished batch (and an error state that would swallow the next messages)...
        await this.db.execProtocolRawStream(new Uint8Array([SYNC, 0, 0, 0, 4]), discard);
        // ...then the transaction block the connection left open.
        if (this.db.isInTransaction()) await this.db.execProtocolRawStream(simpleQuery('ROLLBACK'), discard);
      });
    } finally {
      this.owner = null;
    }
  }
}

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const out = Buffer.alloc(5 + text.length);
  out[0] = QUERY;
  out.writeInt32BE(4 + text.length, 1);
  text.copy(out, 5);
  return new Uint8Array(out);
}
