import { Decimal } from '@torgovo/core';
import { baseCryptoAmount, MAX_AMOUNT_OFFSET_UNITS, resolveNetwork, uniqueCryptoAmount } from './crypto-currencies';
import { creditedMs } from './paid-time-credit';

describe('crypto amounts', () => {
  it('prices in the coin rounded up to its decimals, never below the USD price', () => {
    const btc = baseCryptoAmount('29.00', '73384.8', 'BTC');
    expect(btc.toFixed()).toBe('0.00039518');
    expect(btc.times('73384.8').gte(29)).toBe(true);
    expect(baseCryptoAmount('99.00', '1', 'USDT').toFixed(6)).toBe('99.000000');
    expect(() => baseCryptoAmount('1', '0', 'ETH')).toThrow();
  });

  it('adds an offset of 1..999 units that no open payment holds', () => {
    const base = new Decimal('99');
    const taken = Array.from({ length: MAX_AMOUNT_OFFSET_UNITS - 1 }, (_, i) => base.plus(new Decimal(i + 1).div(1e6)).toFixed(6));
    // Only k = 999 is left.
    expect(uniqueCryptoAmount(base, 'USDT', taken)).toBe('99.000999');
    expect(uniqueCryptoAmount(base, 'USDT', [...taken, '99.000999'])).toBeNull();
    const a = uniqueCryptoAmount(base, 'USDT', [], () => 0);
    expect(a).toBe('99.000001');
    // Taken amounts compare as numbers, whatever their trailing zeros.
    expect(uniqueCryptoAmount(base, 'USDT', ['99.000001000000000000'], () => 0)).toBe('99.000002');
    // An amount a closed quote asked lately is avoided while another is free, and taken when none is.
    expect(uniqueCryptoAmount(base, 'USDT', [], () => 0, ['99.000001', '99.000002'])).toBe('99.000003');
    expect(uniqueCryptoAmount(base, 'USDT', taken, () => 0, ['99.000999'])).toBe('99.000999');
  });

  it('accepts only the listed networks, case-insensitively, with a default', () => {
    expect(resolveNetwork('USDT', undefined)).toBe('TRC20');
    expect(resolveNetwork('USDT', 'erc20')).toBe('ERC20');
    expect(resolveNetwork('BTC', 'TRC20')).toBeNull();
  });
});

describe('paid time credit', () => {
  const day = 86_400_000;
  const t0 = new Date('2026-11-01T00:00:00Z');
  const at = (d: number) => new Date(t0.getTime() + d * day);

  it('the unused share of the old price buys time at the new rate', () => {
    // Half of a $29 month left, moving to $99 per 30 days: 14.5/99 of 30 days.
    const ms = creditedMs({ oldPeriods: [{ start: at(0), end: at(30) }], oldPriceUsd: '29', newPeriodStart: at(15), newPeriodEnd: at(45), newPriceUsd: '99', now: at(15) });
    expect(ms / day).toBeCloseTo((14.5 / 99) * 30, 6);
  });

  it('a renewal paid ahead counts with the rest of the current period (not the latest period alone)', () => {
    // Day 25 of a $30 month whose next month is already paid: 5 days + 30 days of $30 months left.
    const ms = creditedMs({
      oldPeriods: [
        { start: at(0), end: at(30) },
        { start: at(30), end: at(60) },
      ],
      oldPriceUsd: '30',
      newPeriodStart: at(25),
      newPeriodEnd: at(55),
      newPriceUsd: '60',
      now: at(25),
    });
    // $5 + $30 = $35 at $60 per 30 days: 17.5 days (the latest period alone gave 15).
    expect(ms / day).toBeCloseTo(17.5, 6);
  });

  it('nothing when the old period is over, or the new plan is free', () => {
    expect(creditedMs({ oldPeriods: [{ start: at(0), end: at(30) }], oldPriceUsd: '29', newPeriodStart: at(31), newPeriodEnd: at(61), newPriceUsd: '99', now: at(31) })).toBe(0);
    expect(creditedMs({ oldPeriods: [{ start: at(0), end: at(30) }], oldPriceUsd: '29', newPeriodStart: at(10), newPeriodEnd: at(40), newPriceUsd: '0', now: at(10) })).toBe(0);
  });
});
