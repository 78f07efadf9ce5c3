import { Decimal } from '@torgovo/core';
import type { Bot } from './entities/bot.entity';
import { SignalErrors } from './errors';
import type { SignalIntent, SignalQuantity } from './tradingview-signal';

/**
 * How big the order is, before anything is read from the database:
 * - amount / quote: known now;
 * - position: a fraction of the bot's open position (sells, close/exit);
 * - balance: a fraction of the free quote balance (percent buys).
 */
export type SizingPlan =
  | { kind: 'amount'; value: Decimal }
  | { kind: 'quote'; value: Decimal }
  | { kind: 'position'; fraction: Decimal }
  | { kind: 'balance'; fraction: Decimal };

export type OrderSize = { amount: string; quote_amount: null } | { amount: null; quote_amount: string };

const HUNDRED = new Decimal(100);

/** The alert's quantity wins; without one (or with a placeholder left in it) the bot's sizing applies. */
export function planSizing(intent: SignalIntent, quantity: SignalQuantity | null, bot: Pick<Bot, 'sizing_type' | 'sizing_value'>): SizingPlan {
  if (intent === 'close') return { kind: 'position', fraction: new Decimal(1) };
  const q: SignalQuantity | { kind: 'quote'; value: Decimal } =
    quantity ??
    (bot.sizing_type === 'base'
      ? { kind: 'base', value: new Decimal(bot.sizing_value) }
      : bot.sizing_type === 'quote'
        ? { kind: 'quote', value: new Decimal(bot.sizing_value) }
        : { kind: 'percent', value: new Decimal(bot.sizing_value) });
  switch (q.kind) {
    case 'base':
      return { kind: 'amount', value: q.value };
    case 'quote':
      return { kind: 'quote', value: q.value };
    case 'percent':
      // Spot: a percent buy spends quote currency, a percent sell sells part of what the bot holds.
      return intent === 'buy' ? { kind: 'balance', fraction: q.value.div(HUNDRED) } : { kind: 'position', fraction: q.value.div(HUNDRED) };
  }
}

/** Turns a plan into the order's amount or quote_amount; `available` is the position or the balance the plan needs. */
export function resolveSizing(plan: SizingPlan, available: Decimal | null, quoteCurrency: string): OrderSize {
  let size: { amount: Decimal } | { quote: Decimal };
  switch (plan.kind) {
    case 'amount':
      size = { amount: plan.value };
      break;
    case 'quote':
      size = { quote: plan.value };
      break;
    case 'position':
      if (available === null || available.lte(0)) throw SignalErrors.noPosition();
      size = { amount: available.mul(plan.fraction) };
      break;
    case 'balance':
      if (available === null || available.lte(0)) throw SignalErrors.noBalance(quoteCurrency);
      size = { quote: available.mul(plan.fraction) };
      break;
  }
  // numeric(36,18): never more than what is available, so round down.
  const value = ('amount' in size ? size.amount : size.quote).toDecimalPlaces(18, Decimal.ROUND_DOWN);
  if (value.lte(0)) throw SignalErrors.tooSmall();
  return 'amount' in size ? { amount: value.toFixed(), quote_amount: null } : { amount: null, quote_amount: value.toFixed() };
}
