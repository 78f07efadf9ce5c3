import { randomInt } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainError, sha256Hex } from '@torgovo/core';
import { TelegramAccess } from './telegram-access';
import { TelegramClient, TelegramUpdate } from './telegram-client';

const CODE_TTL_MINUTES = 15;
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 10;

export const TelegramErrors = {
  /** The account was deactivated or erased while the request was under way (the guard let it in before). */
  accountInactive: () => new DomainError('unauthorized', 401, 'The account is deactivated'),
  notIncluded: () => new DomainError('telegram_not_included', 403, 'Your plan does not include Telegram notifications (Pro and Enterprise do)'),
  notConfigured: () => new DomainError('telegram_unavailable', 503, 'Telegram notifications are not configured on this platform'),
};

/** A code in a message: "/start CODE" (the t.me deep link) or the code alone. */
export function codeInMessage(text: string | undefined): string | null {
  const m = /^(?:\/start\s+)?([A-Z2-9]{10})\s*$/i.exec((text ?? '').trim());
  return m ? m[1].toUpperCase() : null;
}

/**
 * Linking a Telegram chat: the user asks for a one-time code (stored hashed, 15 minutes), sends it
 * to the platform's bot, and the poller (getUpdates) binds the chat that sent it.
 */
@Injectable()
export class TelegramLinks {
  private readonly logger = new Logger(TelegramLinks.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly telegram: TelegramClient,
    private readonly access: TelegramAccess,
  ) {}

  async createCode(userId: string): Promise<{ code: string; bot_username: string; expires_at: string }> {
    if (!this.telegram.enabled) throw TelegramErrors.notConfigured();
    if (!(await this.access.includes(userId))) throw TelegramErrors.notIncluded();
    const botUsername = await this.telegram.botUsername().catch(() => {
      throw TelegramErrors.notConfigured();
    });
    const code = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    // Written only for an account still active and not erased, its row share-locked by the statement: an
    // erasure (which deletes the link) under way makes this wait and write nothing; a later one deletes it.
    const rows = (await this.ds.query(
      `INSERT INTO telegram_links (user_id, code_hash, code_expires_at)
       SELECT u.id, $2, now() + $3::int * interval '1 minute' FROM users u WHERE u.id = $1 AND u.is_active AND u.erased_at IS NULL FOR SHARE
       ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, code_expires_at = EXCLUDED.code_expires_at, updated_at = now()
       RETURNING code_expires_at`,
      [userId, sha256Hex(code), CODE_TTL_MINUTES],
    )) as Array<{ code_expires_at: Date }>;
    if (rows.length === 0) throw TelegramErrors.accountInactive();
    return { code, bot_username: botUsername, expires_at: rows[0].code_expires_at.toISOString() };
  }

  async status(userId: string): Promise<{ linked: boolean; available: boolean }> {
    const rows = (await this.ds.query(`SELECT 1 FROM telegram_links WHERE user_id = $1 AND chat_id IS NOT NULL`, [userId])) as unknown[];
    return { linked: rows.length > 0, available: this.telegram.enabled && (await this.access.includes(userId)) };
  }

  /**
   * Binds the chats that sent a valid code, all in one statement; answers how many. The caller
   * stores the getUpdates offset afterwards. A code binds only for an account still active and not
   * erased at the moment of binding: the user row is share-locked by the statement (as createCode
   * does), so a deactivation or erasure (FOR NO KEY UPDATE on that row) either committed before — seen
   * here, nothing bound — or waits for this statement. The user row before the link row, as they do.
   * A refused code gets what any invalid code gets: nothing bound, no reply.
   */
  async bind(updates: TelegramUpdate[]): Promise<Array<{ user_id: string; chat_id: string }>> {
    const found = updates.flatMap((u) => {
      const code = codeInMessage(u.message?.text);
      return code && u.message ? [{ hash: sha256Hex(code), chat: String(u.message.chat.id) }] : [];
    });
    if (found.length === 0) return [];
    const linked = (await this.ds.query(
      `WITH allowed AS MATERIALIZED (
         SELECT t.user_id, f.hash, f.chat
           FROM unnest($1::char(64)[], $2::text[]) AS f(hash, chat)
           JOIN telegram_links t ON t.code_hash = f.hash AND t.code_expires_at > now()
           JOIN users u ON u.id = t.user_id
          WHERE u.is_active AND u.erased_at IS NULL
            FOR SHARE OF u)
       UPDATE telegram_links t SET chat_id = a.chat::bigint, linked_at = now(), code_hash = NULL, code_expires_at = NULL, updated_at = now()
         FROM allowed a
        WHERE t.user_id = a.user_id AND t.code_hash = a.hash AND t.code_expires_at > now()
        RETURNING t.user_id, t.chat_id::text AS chat_id`,
      [found.map((f) => f.hash), found.map((f) => f.chat)],
    )) as [Array<{ user_id: string; chat_id: string }>, number] | Array<{ user_id: string; chat_id: string }>;
    const rows = Array.isArray(linked[0]) ? (linked[0] as Array<{ user_id: string; chat_id: string }>) : (linked as Array<{ user_id: string; chat_id: string }>);
    this.logger.log({ linked: rows.length }, 'Telegram chats linked');
    return rows;
  }
}

/**
 * In the transaction of a deactivation (or of an erasure of an active account): the account's
 * pending link code is void. Without this, a code issued before the deactivation would still link a
 * chat after a reactivation within its 15 minutes. A chat already linked stays (the account's own).
 */
export async function forgetPendingTelegramCode(m: EntityManager, userId: string): Promise<void> {
  await m.query(`UPDATE telegram_links SET code_hash = NULL, code_expires_at = NULL, updated_at = now() WHERE user_id = $1 AND code_hash IS NOT NULL`, [userId]);
}
