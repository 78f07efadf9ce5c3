import { Decimal } from '@torgovo/core';
import type { Bot, BotMode } from './entities/bot.entity';
import { SignalErrors } from './errors';
import type { SignalIntent, SignalQuantity } from './tradingview-signal';

/**
 * How big the order is, before anything is read from the database:
 * - amount / quote: known now;
 * - position: a fraction of the bot's open position (sells, close/exit);
 * - balance: a percent of the free quote balance (percent buys): read from our database on paper,
 *   from the exchange by the worker when it places a live order.
 */
export type SizingPlan =
  | { kind: 'amount'; value: Decimal }
  | { kind: 'quote'; value: Decimal }
  | { kind: 'position'; fraction: Decimal }
  | { kind: 'balance'; percent: Decimal };

export type OrderSize =
  | { amount: string; quote_amount: null; quote_percent: null }
  | { amount: null; quote_amount: string; quote_percent: null }
  | { amount: null; quote_amount: null; quote_percent: string };

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
      return intent === 'buy' ? { kind: 'balance', percent: q.value } : { kind: 'position', fraction: q.value.div(HUNDRED) };
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
      size = { quote: available.mul(plan.percent).div(HUNDRED) };
      break;
  }
  // numeric(36,18): never more than what is available, so round down.
  const value = ('amount' in size ? size.amount : size.quote).toDecimalPlaces(18, Decimal.ROUND_DOWN);
  if (value.lte(0)) throw SignalErrors.tooSmall();
  return 'amount' in size
    ? { amount: value.toFixed(), quote_amount: null, quote_percent: null }
    : { amount: null, quote_amount: value.toFixed(), quote_percent: null };
}

/**
 * The size when it needs no database read: amounts as given, and a live percent buy as its percent
 * (the balance is on the exchange; the worker, which alone holds the keys, reads it when it places
 * the order). null: the size depends on rows read after the dedupe claim.
 */
export function sizeWithoutReads(plan: SizingPlan, mode: BotMode, quoteCurrency: string): OrderSize | null {
  switch (plan.kind) {
    case 'amount':
    case 'quote':
      return resolveSizing(plan, null, quoteCurrency);
    case 'balance':
      return mode === 'live' ? { amount: null, quote_amount: null, quote_percent: plan.percent.toFixed() } : null;
    case 'position':
      return null;
  }
}
