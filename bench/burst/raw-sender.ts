// The burst's sender: HTTP/1.1 POSTs over raw keep-alive TCP sockets, one request at a time per
// socket (as TradingView's senders do: no pipelining), with the request bytes built by the caller
// and the answer read only as far as its status line and Content-Length.
//
// Why not node:http's client: the sender shares the bench machine's 2 cores with the api, the worker
// and PostgreSQL, while TradingView's senders are elsewhere. node:http's client cost ~0.11 ms of CPU
// per request (measured with CpuMeter over a 10,000-alert burst): ~1.1 s of the ~6 s of CPU two cores
// have in the 3 s an alert may wait. This costs a fraction of that, so the measure is of the server.
import { connect, Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  /** The body as text (the server's JSON answer). */
  text: string;
  /** ms from send() until its connection was established, when send() opened one. */
  connectMs?: number;
}

interface Conn {
  socket: Socket;
  busy: boolean;
  buffer: Buffer;
  done?: (answer: RawAnswer) => void;
  /** When a request that opened this connection was handed to it, until the connection is up. */
  openedAt?: number;
  connectMs?: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** A pool of up to `maxSockets` keep-alive connections to one host:port. */
export class RawHttpSender {
  private readonly idle: Conn[] = [];
  private readonly queue: Array<{ bytes: Buffer; done: (a: RawAnswer) => void }> = [];
  private readonly all = new Set<Conn>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxSockets = 1024,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The request bytes for a POST of `body` (text/plain, as TradingView sends an alert). */
  static post(host: string, path: string, body: string, contentType = 'text/plain'): Buffer {
    const b = Buffer.from(body, 'utf8');
    const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: ${contentType}\r\ncontent-length: ${b.length}\r\nconnection: keep-alive\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), b]);
  }

  send(bytes: Buffer): Promise<RawAnswer> {
    return new Promise((done) => {
      const conn = this.idle.pop() ?? (this.all.size < this.maxSockets ? this.open() : undefined);
      if (conn) this.start(conn, bytes, done);
      else this.queue.push({ bytes, done });
    });
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
  }

  private open(): Conn {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const conn: Conn = { socket, busy: false, buffer: Buffer.alloc(0), openedAt: performance.now() };
    this.all.add(conn);
    socket.once('connect', () => (conn.connectMs = performance.now() - (conn.openedAt ?? 0)));
    socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    const fail = () => {
      this.all.delete(conn);
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      const done = conn.done;
      conn.done = undefined;
      done?.({ status: 0, text: '' });
      this.next();
    };
    socket.on('error', fail);
    socket.on('close', fail);
    return conn;
  }

  private start(conn: Conn, bytes: Buffer, done: (a: RawAnswer) => void): void {
    conn.busy = true;
    conn.done = done;
    conn.buffer = Buffer.alloc(0);
    conn.socket.write(bytes);
  }

  private onData(conn: Conn, chunk: Buffer): void {
    conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
    const end = conn.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = conn.buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    const bodyStart = end + HEADER_END.length;
    if (conn.buffer.length < bodyStart + length) return;
    const status = Number(head.slice(9, 12));
    const text = conn.buffer.subarray(bodyStart, bodyStart + length).toString('utf8');
    const done = conn.done;
    conn.done = undefined;
    conn.busy = false;
    conn.buffer = Buffer.alloc(0);
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.all.delete(conn);
      conn.socket.destroy();
    } else {
      this.idle.push(conn);
    }
    const connectMs = conn.connectMs;
    conn.connectMs = undefined;
    done?.({ status, text, connectMs });
    this.next();
  }

  private next(): void {
    while (this.queue.length > 0) {
      const conn = this.idle.pop() ?? (this.all.size < this.maxSockets ? this.open() : undefined);
      if (!conn) return;
      const { bytes, done } = this.queue.shift()!;
      this.start(conn, bytes, done);
    }
  }
}
