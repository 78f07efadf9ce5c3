import { Decimal } from '@torgovo/core';
import type { Bot } from './entities/bot.entity';
import { SignalErrors } from './errors';
import type { SignalIntent, SignalQuantity } from './tradingview-signal';

/**
 * The intent of an alert as the order row records it. Nothing is read here: sizes that depend on
 * the bot's position or on the balance are resolved by the executor right before it sends, in order
 * per bot (libs/trading placement-rule.ts), so a close queued behind the buy it closes sells what
 * that buy bought, and percent buys compound.
 */
export type OrderSize = {
  side: 'buy' | 'sell' | null;
  amount: string | null;
  quote_amount: string | null;
  /** Percent of the free quote balance (buys). */
  quote_percent: string | null;
  /** Percent of the bot's own position (sells; close/exit = 100). */
  position_percent: string | null;
  /** The strategy's signed position (target alerts): the executor trades the difference. */
  target_position: string | null;
};

const NONE = { amount: null, quote_amount: null, quote_percent: null, position_percent: null, target_position: null };

/** numeric(36,18): never more than asked, so round down. */
function positive(value: Decimal): string {
  const v = value.toDecimalPlaces(18, Decimal.ROUND_DOWN);
  if (v.lte(0)) throw SignalErrors.tooSmall();
  return v.toFixed();
}

/** The alert's quantity wins; without one (or with a placeholder left in it) the bot's sizing applies. */
export function orderSizeOf(
  intent: SignalIntent,
  quantity: SignalQuantity | null,
  target: Decimal | null,
  bot: Pick<Bot, 'sizing_type' | 'sizing_value'>,
): OrderSize {
  if (intent === 'target') return { ...NONE, side: null, target_position: target!.toDecimalPlaces(18, Decimal.ROUND_DOWN).toFixed() };
  if (intent === 'close') return { ...NONE, side: 'sell', position_percent: '100' };
  const side = intent;
  const q =
    quantity ??
    (bot.sizing_type === 'base'
      ? { kind: 'base' as const, value: new Decimal(bot.sizing_value) }
      : bot.sizing_type === 'quote'
        ? { kind: 'quote' as const, value: new Decimal(bot.sizing_value) }
        : { kind: 'percent' as const, value: new Decimal(bot.sizing_value) });
  switch (q.kind) {
    case 'base':
      return { ...NONE, side, amount: positive(q.value) };
    case 'quote':
      return { ...NONE, side, quote_amount: positive(q.value) };
    case 'percent':
      // Spot: a percent buy spends quote currency, a percent sell sells part of what the bot holds.
      return side === 'buy' ? { ...NONE, side, quote_percent: positive(q.value) } : { ...NONE, side, position_percent: positive(q.value) };
  }
}
