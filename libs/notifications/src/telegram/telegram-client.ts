import { Inject, Injectable } from '@nestjs/common';
import { NotificationsConfig } from '../notifications-config';

const TIMEOUT_MS = 10_000;

export interface TelegramUpdate {
  update_id: number;
  message?: { chat: { id: number }; text?: string };
}

/** The few Bot API methods used (HTTPS JSON; TELEGRAM_API_URL points it at a fake in tests). */
@Injectable()
export class TelegramClient {
  private username?: string;

  constructor(@Inject(NotificationsConfig) private readonly config: NotificationsConfig) {}

  get enabled(): boolean {
    return Boolean(this.config.TELEGRAM_BOT_TOKEN);
  }

  async sendMessage(chatId: string, text: string): Promise<void> {
    await this.call('sendMessage', { chat_id: chatId, text, disable_web_page_preview: true });
  }

  /** Short poll (timeout 0): the job's tick stays bounded. */
  getUpdates(offset: number): Promise<TelegramUpdate[]> {
    return this.call<TelegramUpdate[]>('getUpdates', { offset, timeout: 0, allowed_updates: ['message'] });
  }

  async botUsername(): Promise<string> {
    this.username ??= this.config.TELEGRAM_BOT_USERNAME ?? (await this.call<{ username: string }>('getMe', {})).username;
    return this.username;
  }

  private async call<T>(method: string, body: object): Promise<T> {
    // The token is part of the URL: never log the URL or a fetch error that contains it.
    const res = await fetch(`${this.config.TELEGRAM_API_URL}/bot${this.config.TELEGRAM_BOT_TOKEN}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).catch((err: unknown) => {
      throw new Error(`telegram ${method}: ${err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'network error'}`);
    });
    const json = (await res.json().catch(() => ({}))) as { ok?: boolean; result?: T; description?: string };
    if (!res.ok || !json.ok) throw new Error(`telegram ${method}: ${res.status} ${json.description ?? ''}`.trim());
    return json.result as T;
  }
}
