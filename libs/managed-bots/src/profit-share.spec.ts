import { Decimal } from '@torgovo/core';
import { markAfterInvestmentChange, markAfterSettlement, owedAt } from './profit-share';

describe('the high-water mark', () => {
  it('charges a gain once: a gain, a loss, a recovery above the previous high (the documented example)', () => {
    const rate = '20';
    let mark = new Decimal(10000);
    // Month 1: +1,000 → equity 11,000: 20 % of 1,000.
    expect(owedAt(11000, mark, rate).toFixed()).toBe('200');
    mark = markAfterSettlement(11000, mark);
    // Month 2: −1,500 → equity 9,500: nothing, the mark stays at 11,000.
    expect(owedAt(9500, mark, rate).toFixed()).toBe('0');
    mark = markAfterSettlement(9500, mark);
    expect(mark.toFixed()).toBe('11000');
    // Month 3: +2,500 → equity 12,000: only the 1,000 above 11,000 is charged.
    expect(owedAt(12000, mark, rate).toFixed()).toBe('200');
    expect(markAfterSettlement(12000, mark).toFixed()).toBe('12000');
  });

  it('a top-up raises the mark by its amount; a withdrawal lowers it pro rata', () => {
    // Equity 11,000 against a mark of 10,500; top up 1,000: the 500 gain is still the only gain.
    const topped = markAfterInvestmentChange(10500, 11000, 1000);
    expect(topped.toFixed()).toBe('11500');
    expect(owedAt(12000, topped, 20).toFixed()).toBe('100');
    // Withdraw half of a 12,000 equity under a 12,500 mark: the mark halves to 6,250; 250 to recover.
    expect(markAfterInvestmentChange(12500, 12000, -6000).toFixed()).toBe('6250');
  });

  it('rounds the charge to the cent, half up', () => {
    expect(owedAt('10000.0149', 10000, 20).toFixed()).toBe('0');
    expect(owedAt('10000.025', 10000, 20).toFixed()).toBe('0.01');
  });
});
