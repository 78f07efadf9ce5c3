import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from '../local-http-server';

export interface SentMessage {
  chat_id: string;
  text: string;
}

/**
 * The Bot API methods the platform uses (getMe, getUpdates, sendMessage), in Telegram's wire format
 * (`{"ok": true, "result": ...}`, errors `{"ok": false, "error_code", "description"}`).
 */
export class FakeTelegramServer {
  readonly sent: SentMessage[] = [];
  /** The next N sendMessage calls answer 502 (a transient failure to retry). */
  failNextSends = 0;
  private readonly updates: Array<{ update_id: number; message: { message_id: number; chat: { id: number; type: string }; date: number; text: string } }> = [];
  private readonly http = new LocalHttpServer('fake Telegram');
  private nextUpdateId = 1000;

  constructor(readonly token = '123456:TEST-token') {}

  get url(): string {
    return this.http.url;
  }

  /** A user writes `text` to the bot from chat `chatId`. */
  userWrites(chatId: number, text: string): void {
    const id = this.nextUpdateId++;
    this.updates.push({ update_id: id, message: { message_id: id, chat: { id: chatId, type: 'private' }, date: Math.floor(Date.now() / 1000), text } });
  }

  start(): Promise<void> {
    return this.http.start((req, res) => void this.handle(req, res));
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const reply = (status: number, json: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    if (!m || m[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    switch (m[2]) {
      case 'getMe':
        return reply(200, { ok: true, result: { id: 123456, is_bot: true, first_name: 'Torgovo', username: 'torgovo_test_bot' } });
      case 'getUpdates': {
        const offset = Number(body.offset ?? 0);
        return reply(200, { ok: true, result: this.updates.filter((u) => u.update_id >= offset) });
      }
      case 'sendMessage':
        if (this.failNextSends > 0) {
          this.failNextSends -= 1;
          return reply(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
        }
        this.sent.push({ chat_id: String(body.chat_id), text: String(body.text) });
        return reply(200, { ok: true, result: { message_id: this.sent.length, chat: { id: Number(body.chat_id) }, text: body.text } });
      default:
        return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    }
  }
}
