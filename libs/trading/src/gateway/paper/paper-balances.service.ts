import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { toDecimalString } from '@torgovo/core';
import { PAPER_EXCHANGE_OPTIONS } from '../exchange-gateway.factory';
import type { PaperBalanceResponse } from './dto/paper-balance.response';
import type { PaperExchangeOptions } from './paper-exchange-gateway';
import { ensureAccounts, ensureBalanceRows } from './paper-ledger';

/**
 * The user's paper balances. An account is opened (and seeded with the starting balances) when the
 * user starts a paper bot (`open`), else by its first order; a user who has neither sees what the
 * account will start with, and nothing is written.
 */
@Injectable()
export class PaperBalances {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(PAPER_EXCHANGE_OPTIONS) private readonly options: PaperExchangeOptions,
  ) {}

  /**
   * Opens the user's paper account with its starting balances, and a zero row for each of
   * `currencies` (a bot's base and quote), once: every statement is idempotent. Called when a paper
   * bot is created or started and when a paper follow begins, so first orders fill against rows that
   * exist and were committed before them — at a bar close, creating ~10,000 accounts and their rows in
   * the fills' own transactions was a large part of the worker's database work while the api was
   * still answering alerts (issue 16). A first order still opens what is missing.
   */
  async open(m: EntityManager, userId: string, currencies: readonly string[]): Promise<void> {
    await ensureAccounts(m, [userId], this.options.initialBalances);
    await ensureBalanceRows(
      m,
      currencies.map((currency) => ({ userId, currency })),
    );
  }

  async list(userId: string): Promise<PaperBalanceResponse[]> {
    const rows = (await this.ds.query(
      `SELECT a.user_id IS NOT NULL AS opened, b.currency, b.free::text, b.used::text
         FROM (SELECT 1) one
         LEFT JOIN paper_accounts a ON a.user_id = $1
         LEFT JOIN paper_balances b ON b.user_id = a.user_id AND (b.free <> 0 OR b.used <> 0)
        ORDER BY b.currency`,
      [userId],
    )) as Array<{ opened: boolean; currency: string | null; free: string; used: string }>;
    if (!rows[0].opened) {
      return Object.entries(this.options.initialBalances)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([currency, free]) => ({ currency, free: toDecimalString(free), reserved: '0' }));
    }
    return rows
      .filter((r) => r.currency !== null)
      .map((r) => ({ currency: r.currency!, free: toDecimalString(r.free), reserved: toDecimalString(r.used) }));
  }
}
