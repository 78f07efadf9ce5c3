import WebSocket from 'ws';

export interface LiveMessage {
  type: string;
  cursor?: string;
  data?: Record<string, unknown>;
  code?: string;
  [key: string]: unknown;
}

/** A test client of /api/ws that keeps every frame it received, in order. */
export class LiveClient {
  readonly messages: LiveMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(baseUrl: string, protocols?: string[]) {
    this.ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/ws`, protocols);
    this.ws.on('message', (raw) => this.messages.push(JSON.parse(String(raw)) as LiveMessage));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(baseUrl: string, token?: string): Promise<LiveClient> {
    const c = new LiveClient(baseUrl);
    await c.opened;
    if (token) {
      c.send({ type: 'auth', access_token: token });
      await c.next((m) => m.type === 'authenticated');
    }
    return c;
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  open(): Promise<void> {
    return this.opened;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first frame (already received or to come) matching `match`. */
  async next(match: (m: LiveMessage) => boolean, timeoutMs = 10_000): Promise<LiveMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  events(type?: string): LiveMessage[] {
    return this.messages.filter((m) => m.cursor && m.data && (!type || m.type === type));
  }

  close(): void {
    this.ws.close();
  }
}
