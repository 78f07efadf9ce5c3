import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { toDecimalString } from '@torgovo/core';
import { PAPER_EXCHANGE_OPTIONS } from '../exchange-gateway.factory';
import type { PaperBalanceResponse } from './dto/paper-balance.response';
import type { PaperExchangeOptions } from './paper-exchange-gateway';

/**
 * The user's paper balances, read only. An account is created (and seeded) by its first order, so
 * a user who never traded on paper sees what the account will start with, and nothing is written.
 */
@Injectable()
export class PaperBalances {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(PAPER_EXCHANGE_OPTIONS) private readonly options: PaperExchangeOptions,
  ) {}

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
