import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { sha256Hex } from '@torgovo/core';
import { clientOrderIdSql, PENDING_ORDER_COLUMNS } from '@torgovo/trading';
import { ManagedSignalDto, SignalAcceptedResponse } from './dto/signal.dto';
import { ManagedBot } from './entities/managed-bot.entity';
import { ManagedBotErrors } from './errors';
import { signalRefSql } from './follow-order-refs';
import { normalizeSymbol } from './symbols';

/** The columns the fan-out writes (PENDING_ORDER_COLUMNS, from trading); the others take their defaults. */
const WRITTEN = ['user_id', 'managed_bot_id', 'source', 'source_ref', 'mode', 'exchange', 'symbol', 'side', 'type', 'quote_amount', 'position_percent', 'signal_at', 'price', 'client_order_id'] as const;
for (const c of WRITTEN) if (!(PENDING_ORDER_COLUMNS as readonly string[]).includes(c)) throw new Error(`orders has no pending column ${c}`);

/**
 * One signal → one statement: the signal row (unique per managed bot and signal_id, so a repeat
 * inserts nothing and, joined on its RETURNING, creates no order) and one pending order per active
 * follower, sized from the follower's own investment (buy: investment × fraction in quote) or
 * position (sell: fraction of it, close: all, sized by the executor's placement rule when placed),
 * each with its deterministic client order id. Paper followers need the lead's price to fill at.
 * The TradingManager executes them like any other order: one follower's failing exchange is that
 * follower's order's outcome and holds up no one else (each user has their own queue).
 */
const FANOUT = `
  WITH sig AS (
    INSERT INTO managed_bot_signals (managed_bot_id, signal_id, source, action, symbol, fraction, price, orders_created)
    SELECT b.id, $2, $3, $4, $5, $6::numeric, $7::numeric,
           (SELECT count(*) FROM managed_bot_follows f
             WHERE f.managed_bot_id = b.id AND f.status = 'active' AND ($7::numeric IS NOT NULL OR f.mode = 'live')
               AND ($4 <> 'buy' OR trunc(f.investment * $6::numeric, 8) > 0))
      FROM managed_bots b WHERE b.id = $1 AND b.status = 'active'
    ON CONFLICT (managed_bot_id, signal_id) DO NOTHING
    RETURNING id, created_at, orders_created
  ), ins AS (
    INSERT INTO orders (${WRITTEN.join(', ')})
    SELECT f.user_id, f.managed_bot_id, 'managed', ${signalRefSql('sig.id', 'f.id')}, f.mode, f.exchange, $5,
           CASE WHEN $4 = 'buy' THEN 'buy' ELSE 'sell' END, 'market',
           CASE WHEN $4 = 'buy' THEN trunc(f.investment * $6::numeric, 8) END,
           CASE WHEN $4 = 'sell' THEN $6::numeric * 100 WHEN $4 = 'close' THEN 100 END,
           sig.created_at, $7::numeric,
           ${clientOrderIdSql(`'managed'`, signalRefSql('sig.id', 'f.id'))}
      FROM sig JOIN managed_bot_follows f ON f.managed_bot_id = $1 AND f.status = 'active'
     WHERE ($7::numeric IS NOT NULL OR f.mode = 'live') AND ($4 <> 'buy' OR trunc(f.investment * $6::numeric, 8) > 0)
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT sig.id, (SELECT count(*)::int FROM ins) AS orders_created FROM sig`;

export interface SignalInput extends ManagedSignalDto {
  source: 'api' | 'webhook';
}

@Injectable()
export class SignalFanoutService {
  private readonly logger = new Logger(SignalFanoutService.name);

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async accept(managedBotId: string, input: SignalInput): Promise<SignalAcceptedResponse> {
    const bot = await this.ds.getRepository(ManagedBot).findOne({ where: { id: managedBotId } });
    if (!bot) throw ManagedBotErrors.notFound();
    if (bot.status !== 'active') throw ManagedBotErrors.paused();
    const symbol = normalizeSymbol(input.symbol);
    if (!symbol || !bot.symbols.includes(symbol)) throw ManagedBotErrors.symbolNotTraded(input.symbol);
    const price = input.price ?? null;
    if (price === null && (await this.hasPaperFollowers(bot.id))) throw ManagedBotErrors.priceRequired();
    // Without a signal_id, the signal's own content is its identity: the same body sent twice is one signal.
    const signalId = input.signal_id ?? `h:${sha256Hex(JSON.stringify([input.action, symbol, input.fraction, price]))}`;

    const rows = (await this.ds.query(FANOUT, [bot.id, signalId, input.source, input.action, symbol, input.fraction, price])) as Array<{ id: string; orders_created: number }>;
    if (rows.length === 0) {
      this.logger.log({ managed_bot_id: bot.id, signal_id: signalId }, 'Repeated managed signal: nothing created');
      return { signal_id: signalId, orders_created: 0, duplicate: true };
    }
    this.logger.log({ managed_bot_id: bot.id, signal_id: signalId, orders_created: rows[0].orders_created }, 'Managed signal fanned out');
    return { signal_id: signalId, orders_created: rows[0].orders_created, duplicate: false };
  }

  private async hasPaperFollowers(managedBotId: string): Promise<boolean> {
    const rows = (await this.ds.query(`SELECT 1 FROM managed_bot_follows WHERE managed_bot_id = $1 AND status = 'active' AND mode = 'paper' LIMIT 1`, [managedBotId])) as unknown[];
    return rows.length > 0;
  }
}
