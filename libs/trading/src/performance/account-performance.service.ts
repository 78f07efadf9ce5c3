import { Injectable } from '@nestjs/common';
import { Decimal } from '@torgovo/core';
import type { OrderMode } from '../orders/entities/order.entity';
import type { AccountPerformanceResponse, BookPerformanceResponse } from './dto/performance.response';
import { PerformanceEngine } from './performance-engine';
import { figuresOf, toFiguresResponse, toPositionResponse } from './performance-response.mapper';

/** A book key (performance-engine.ts) as the API names it. */
function bookIds(book: string): { bot_id: string | null; managed_bot_id: string | null } {
  const [first, managed] = book.split(':');
  return managed === undefined ? { bot_id: first, managed_bot_id: null } : { bot_id: null, managed_bot_id: managed };
}

/**
 * GET /performance: the user's whole account. The engine's `userIds` selection takes every book of
 * the user — each custom bot (deleted ones too: their fills happened) and each followed managed bot
 * (the follower's orders carry managed_bot_id) — so followed managed bots are summed here as soon as
 * their orders exist. Branch `managed`: per-follow details (name, investment…) belong in `books`,
 * which already lists one entry per followed managed bot (bot_id null, managed_bot_id set).
 */
@Injectable()
export class AccountPerformanceService {
  constructor(private readonly engine: PerformanceEngine) {}

  async forUser(userId: string, requested?: OrderMode): Promise<AccountPerformanceResponse> {
    // Two statements over the same books: the account's figures (drawdown on its merged curve) and each book's.
    const [account, books] = await Promise.all([
      this.engine.compute({ userIds: [userId], groupBy: 'user' }),
      this.engine.compute({ userIds: [userId], groupBy: 'book' }),
    ]);
    const mode = requested ?? (account.some((r) => r.mode === 'live') ? 'live' : 'paper');
    const figures = figuresOf(account, userId, mode);
    const open = figures.positions.filter((p) => !new Decimal(p.amount).isZero());
    return {
      ...toFiguresResponse(figures),
      position: { unrealised_pnl: figures.unrealised_pnl },
      positions: open.map((p) => ({ ...bookIds(p.book), ...toPositionResponse(p) })),
      books: books
        .filter((b) => b.mode === mode)
        .map(
          (b): BookPerformanceResponse => ({
            ...bookIds(b.group),
            realised_pnl: b.realised_pnl,
            unrealised_pnl: b.unrealised_pnl,
            fees: b.fees,
            trades: b.trades,
            win_rate: b.win_rate,
          }),
        ),
    };
  }
}
