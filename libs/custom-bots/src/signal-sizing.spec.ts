import { Decimal, DomainError } from '@torgovo/core';
import { orderSizeOf } from './signal-sizing';

const bot = (sizing_type: 'quote' | 'base' | 'percent_balance', sizing_value: string) => ({ sizing_type, sizing_value });
const d = (v: string) => new Decimal(v);
const none = { amount: null, quote_amount: null, quote_percent: null, position_percent: null, target_position: null };

describe('signal sizing: the intent the order records (sized by the executor when it needs the position or balance)', () => {
  it('the alert quantity wins over the bot sizing', () => {
    expect(orderSizeOf('buy', { kind: 'base', value: d('0.5') }, null, bot('quote', '100'))).toEqual({ ...none, side: 'buy', amount: '0.5' });
  });

  it('without a quantity the bot sizing applies', () => {
    expect(orderSizeOf('buy', null, null, bot('quote', '100'))).toEqual({ ...none, side: 'buy', quote_amount: '100' });
    expect(orderSizeOf('sell', null, null, bot('base', '0.2'))).toEqual({ ...none, side: 'sell', amount: '0.2' });
  });

  it('a percent buy keeps its percent of the balance, a percent sell its percent of the position, a close is 100 % of it', () => {
    expect(orderSizeOf('buy', { kind: 'percent', value: d('50') }, null, bot('base', '1'))).toEqual({ ...none, side: 'buy', quote_percent: '50' });
    expect(orderSizeOf('buy', null, null, bot('percent_balance', '10'))).toEqual({ ...none, side: 'buy', quote_percent: '10' });
    expect(orderSizeOf('sell', { kind: 'percent', value: d('25') }, null, bot('base', '1'))).toEqual({ ...none, side: 'sell', position_percent: '25' });
    expect(orderSizeOf('close', null, null, bot('quote', '100'))).toEqual({ ...none, side: 'sell', position_percent: '100' });
  });

  it('a target alert keeps the signed target and no side: the executor trades the difference', () => {
    expect(orderSizeOf('target', null, d('-0.5'), bot('quote', '100'))).toEqual({ ...none, side: null, target_position: '-0.5' });
    expect(orderSizeOf('target', { kind: 'base', value: d('1') }, d('0'), bot('quote', '100'))).toEqual({ ...none, side: null, target_position: '0' });
  });

  it('an amount that rounds to nothing at 18 decimals is refused', () => {
    expect(() => orderSizeOf('buy', { kind: 'base', value: d('1e-19') }, null, bot('base', '1'))).toThrow(DomainError);
  });
});
