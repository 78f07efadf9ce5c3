import { Decimal, DomainError } from '@torgovo/core';
import { planSizing, resolveSizing, sizeWithoutReads } from './signal-sizing';

const bot = (sizing_type: 'quote' | 'base' | 'percent_balance', sizing_value: string) => ({ sizing_type, sizing_value });
const d = (v: string) => new Decimal(v);

describe('signal sizing', () => {
  it('the alert quantity wins over the bot sizing', () => {
    expect(resolveSizing(planSizing('buy', { kind: 'base', value: d('0.5') }, bot('quote', '100')), null, 'USDT')).toEqual({ amount: '0.5', quote_amount: null, quote_percent: null });
  });

  it('without a quantity the bot sizing applies', () => {
    expect(resolveSizing(planSizing('buy', null, bot('quote', '100')), null, 'USDT')).toEqual({ amount: null, quote_amount: '100', quote_percent: null });
    expect(resolveSizing(planSizing('sell', null, bot('base', '0.2')), null, 'USDT')).toEqual({ amount: '0.2', quote_amount: null, quote_percent: null });
  });

  it('a percent buy spends that share of the quote balance; a percent sell sells that share of the position', () => {
    expect(resolveSizing(planSizing('buy', { kind: 'percent', value: d('50') }, bot('base', '1')), d('10000'), 'USDT')).toEqual({ amount: null, quote_amount: '5000', quote_percent: null });
    expect(resolveSizing(planSizing('sell', { kind: 'percent', value: d('25') }, bot('base', '1')), d('0.3'), 'USDT')).toEqual({ amount: '0.075', quote_amount: null, quote_percent: null });
    expect(resolveSizing(planSizing('buy', null, bot('percent_balance', '10')), d('123.45'), 'USDT')).toEqual({ amount: null, quote_amount: '12.345', quote_percent: null });
  });

  it('a live percent buy keeps its percent for the worker; everything else that needs a read waits for it', () => {
    const plan = planSizing('buy', { kind: 'percent', value: d('12.5') }, bot('base', '1'));
    expect(sizeWithoutReads(plan, 'live', 'USDT')).toEqual({ amount: null, quote_amount: null, quote_percent: '12.5' });
    expect(sizeWithoutReads(planSizing('buy', null, bot('percent_balance', '100')), 'live', 'USDT')).toEqual({ amount: null, quote_amount: null, quote_percent: '100' });
    expect(sizeWithoutReads(plan, 'paper', 'USDT')).toBeNull();
    expect(sizeWithoutReads(planSizing('sell', { kind: 'percent', value: d('50') }, bot('base', '1')), 'live', 'USDT')).toBeNull();
    expect(sizeWithoutReads(planSizing('close', null, bot('base', '1')), 'live', 'USDT')).toBeNull();
    expect(sizeWithoutReads(planSizing('buy', null, bot('quote', '100')), 'live', 'USDT')).toEqual({ amount: null, quote_amount: '100', quote_percent: null });
  });

  it('close sells the whole position, rounded down to 18 decimals', () => {
    expect(planSizing('close', { kind: 'base', value: d('5') }, bot('base', '1'))).toEqual({ kind: 'position', fraction: d('1') });
    expect(resolveSizing({ kind: 'position', fraction: d('0.333333333333333333333') }, d('1'), 'USDT')).toEqual({ amount: '0.333333333333333333', quote_amount: null, quote_percent: null });
  });

  it('no position or no balance is a 422; a size that rounds to zero is a 400', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as DomainError).code;
      }
      return 'none';
    };
    expect(code(() => resolveSizing({ kind: 'position', fraction: d('1') }, d('0'), 'USDT'))).toBe('no_position');
    expect(code(() => resolveSizing({ kind: 'position', fraction: d('1') }, d('-0.1'), 'USDT'))).toBe('no_position');
    expect(code(() => resolveSizing({ kind: 'balance', percent: d('50') }, d('0'), 'USDT'))).toBe('insufficient_balance');
    expect(code(() => resolveSizing({ kind: 'position', fraction: d('0.1') }, d('0.000000000000000001'), 'USDT'))).toBe('invalid_signal');
  });
});
