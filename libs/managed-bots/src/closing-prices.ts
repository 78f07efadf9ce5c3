import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Decimal } from '@torgovo/core';
import { ExchangeGatewayFactory, PositionFigures } from '@torgovo/trading';

/** follow id → symbol → the price its closing sell is valued at (the market's bid when the follow ended). */
export type ClosingPrices = ReadonlyMap<string, ReadonlyMap<string, string>>;

interface TradedSymbol {
  id: string;
  exchange: string;
  sandbox: boolean | null;
  symbol: string;
}

/**
 * What a live follow's closing sells are worth, for the settlement of a follow that ends closing
 * its positions (unsubscribe with close_positions, the portfolio stop-loss). The performance
 * snapshot values an open position at the book's last fill; the closing order then sells it at the
 * market, and that difference was never settled (the recompute and the monthly run skip ended
 * follows): a follower could leave when the market stood above the last fill and keep the gain free
 * of the share — or, below it, be charged on a gain the close never realised. So the settlement
 * values each position it closes at the price a market sell meets now: the ticker's bid (its last
 * price without one), read here, before the ending's transaction (no exchange call under a lock),
 * one read per symbol and endpoint however many follows (the symbols each follow's book has filled). A symbol whose price cannot be read is
 * valued as before, at the last fill (logged). Paper follows need none: their close fills at the
 * book's last fill price.
 */
@Injectable()
export class FollowClosingPrices {
  private readonly logger = new Logger(FollowClosingPrices.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateways: ExchangeGatewayFactory,
  ) {}

  /** For the active live follows among `followIds`. */
  forFollows(followIds: readonly string[]): Promise<ClosingPrices> {
    return this.read(`f.id = ANY($1::uuid[])`, [followIds]);
  }

  /** For the user's active live follow of this managed bot (none: empty). */
  forUser(userId: string, managedBotId: string): Promise<ClosingPrices> {
    return this.read(`f.user_id = $1 AND f.managed_bot_id = $2`, [userId, managedBotId]);
  }

  private async read(filter: string, params: unknown[]): Promise<ClosingPrices> {
    // Every symbol the follow's book ever filled (a superset of what it holds: the positions
    // themselves are computed inside the ending's transaction): one indexed read, not the FIFO engine.
    const rows = (await this.ds.query(
      `SELECT f.id, f.exchange, c.sandbox, s.symbol
         FROM managed_bot_follows f
         LEFT JOIN exchange_credentials c ON c.user_id = f.user_id AND c.retired_at IS NULL
         CROSS JOIN LATERAL (
           SELECT DISTINCT o.symbol FROM orders o
            WHERE o.managed_bot_id = f.managed_bot_id AND o.user_id = f.user_id AND o.bot_id IS NULL AND o.mode = 'live' AND o.filled > 0
         ) s
        WHERE ${filter} AND f.status = 'active' AND f.mode = 'live'`,
      params,
    )) as TradedSymbol[];
    if (rows.length === 0) return new Map();
    const traded = new Map<string, { exchange: string; sandbox: boolean; symbol: string }>();
    for (const r of rows) traded.set(marketKey(r, r.symbol), { exchange: r.exchange, sandbox: r.sandbox === true, symbol: r.symbol });
    const prices = new Map<string, string>();
    await Promise.all(
      [...traded].map(async ([key, { exchange, sandbox, symbol }]) => {
        try {
          const ticker = await this.gateways.forUncachedLive({ exchange, apiKey: '', secret: '', passphrase: '', sandbox }).fetchTicker(symbol);
          const price = ticker.bid ?? ticker.last;
          if (price !== null && new Decimal(price).gt(0)) prices.set(key, price);
        } catch (err) {
          this.logger.warn({ exchange, symbol, err: err instanceof Error ? err.message : String(err) }, 'No market price for a closing follow: its position is settled at its last fill price');
        }
      }),
    );
    const out = new Map<string, Map<string, string>>();
    for (const r of rows) {
      const price = prices.get(marketKey(r, r.symbol));
      if (price === undefined) continue;
      if (!out.has(r.id)) out.set(r.id, new Map());
      out.get(r.id)!.set(r.symbol, price);
    }
    return out;
  }
}

function marketKey(f: { exchange: string; sandbox: boolean | null }, symbol: string): string {
  return `${f.exchange}|${f.sandbox === true}|${symbol}`;
}

/**
 * Per follow: what valuing its closed positions at `prices` instead of their last fill adds to its
 * equity — Σ amount × (price − last fill) over the long positions it closes (the closing orders
 * sell longs only). Follows with nothing to add are absent.
 */
export function closingAdjustments(
  follows: ReadonlyArray<{ id: string }>,
  positionsOf: (followId: string) => readonly PositionFigures[],
  prices: ClosingPrices | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  if (!prices) return out;
  for (const f of follows) {
    const byPrice = prices.get(f.id);
    if (!byPrice) continue;
    let sum = new Decimal(0);
    for (const p of positionsOf(f.id)) {
      const price = byPrice.get(p.symbol);
      if (price === undefined || p.last_price === null || !new Decimal(p.amount).gt(0)) continue;
      sum = sum.plus(new Decimal(p.amount).mul(new Decimal(price).minus(p.last_price)));
    }
    if (!sum.isZero()) out.set(f.id, sum.toDecimalPlaces(18, Decimal.ROUND_HALF_UP).toFixed());
  }
  return out;
}
