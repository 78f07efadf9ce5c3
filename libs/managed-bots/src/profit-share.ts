import { Decimal } from '@torgovo/core';

/**
 * The high-water-mark arithmetic, in one place (the settlement statement is the same rule in SQL:
 * profit-share-settlement.service.ts). The mark is an equity level: it starts at the investment,
 * `owed = rate × max(0, equity − mark)` with equity = investment + cumulative net PnL, i.e.
 * rate × max(0, cumulative_net_pnl − (mark − investment)): losses carry forward, a gain is charged once.
 */
export function owedAt(equity: Decimal.Value, mark: Decimal.Value, ratePct: Decimal.Value): Decimal {
  const gain = Decimal.max(new Decimal(equity).minus(mark), 0);
  return gain.mul(ratePct).div(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** After a settlement: the mark rises to the equity it charged up to (never falls). */
export function markAfterSettlement(equity: Decimal.Value, mark: Decimal.Value): Decimal {
  return Decimal.max(new Decimal(equity), new Decimal(mark));
}

/**
 * A top-up raises the mark by its amount (no share on one's own money). A withdrawal of W out of
 * equity E:
 * - above the mark (a gain not charged yet): the mark falls by W, so the whole gain stays chargeable
 *   (equity − mark is unchanged). Lowering it pro rata shrank the gain by W/E, and a withdrawal then a
 *   top-up of the same amount escaped most of the share, repeatably;
 * - at or below the mark: pro rata, mark × (E − W) / E (what stays below the mark, scaled to the
 *   smaller stake, still has to be recovered).
 * Above the mark it may fall below zero (more withdrawn than the mark: the gain is still owed on).
 */
export function markAfterInvestmentChange(mark: Decimal.Value, equity: Decimal.Value, amount: Decimal.Value): Decimal {
  const a = new Decimal(amount);
  const m = new Decimal(mark);
  if (a.gte(0)) return m.plus(a);
  const e = new Decimal(equity);
  if (e.gt(m)) return m.plus(a);
  if (e.lte(0)) return m;
  return m.mul(e.plus(a)).div(e).toDecimalPlaces(18, Decimal.ROUND_HALF_UP);
}

export interface SettledPeriod {
  period_start: Date;
  period_end: Date;
  owed: Decimal.Value;
}

/** A trade of the follow: the closing fill's order and the PnL it realised (fees included). */
export interface RealisedTrade {
  order_id: string;
  closed_at: Date;
  pnl: Decimal.Value;
}

/**
 * Which lead trades a settlement's profit share is taken on (the truth report's `profit_share`):
 * each settlement's `owed` is split over the follow's trades that realised a profit inside its period
 * [period_start, period_end), pro rata to that profit, each part rounded down to the cent and the
 * remainder on the period's last such trade, so the parts sum to the settlement exactly. When no trade
 * realised a profit in the period (the gain charged is unrealised: a position marked up), all of it
 * goes to `lastFilled(period)` — the follow's last filled order before the period's end, the one
 * carrying the position. Returns the share per order id (orders with none are absent).
 */
export function allocateProfitShare(
  settlements: readonly SettledPeriod[],
  trades: readonly RealisedTrade[],
  lastFilled: (periodEnd: Date) => string | null,
): Map<string, Decimal> {
  const out = new Map<string, Decimal>();
  const add = (orderId: string, amount: Decimal) => out.set(orderId, (out.get(orderId) ?? new Decimal(0)).plus(amount));
  for (const s of settlements) {
    const owed = new Decimal(s.owed);
    if (owed.lte(0)) continue;
    const winners = trades
      .filter((t) => t.closed_at >= s.period_start && t.closed_at < s.period_end && new Decimal(t.pnl).gt(0))
      .sort((a, b) => a.closed_at.getTime() - b.closed_at.getTime());
    if (winners.length === 0) {
      const orderId = lastFilled(s.period_end);
      if (orderId) add(orderId, owed);
      continue;
    }
    const total = winners.reduce((sum, t) => sum.plus(t.pnl), new Decimal(0));
    let given = new Decimal(0);
    winners.forEach((t, i) => {
      const part = i === winners.length - 1 ? owed.minus(given) : owed.mul(t.pnl).div(total).toDecimalPlaces(2, Decimal.ROUND_DOWN);
      given = given.plus(part);
      add(t.order_id, part);
    });
  }
  return out;
}
