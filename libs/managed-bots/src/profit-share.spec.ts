import { Decimal } from '@torgovo/core';
import { allocateProfitShare, markAfterInvestmentChange, markAfterSettlement, owedAt } from './profit-share';

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

  it('a withdrawal above the mark keeps the gain chargeable: withdrawing then topping up the same amount escapes nothing', () => {
    const rate = '20';
    // Investment 10,000, mark 10,000, equity 12,000: 400 owed.
    expect(owedAt(12000, 10000, rate).toFixed()).toBe('400');
    // Before: 9,000 out lowered the mark pro rata to 2,500 (500 chargeable), and 9,000 back in left 100 owed.
    let mark = markAfterInvestmentChange(10000, 12000, -9000);
    expect(mark.toFixed()).toBe('1000');
    expect(owedAt(3000, mark, rate).toFixed()).toBe('400');
    mark = markAfterInvestmentChange(mark, 3000, 9000);
    expect(owedAt(12000, mark, rate).toFixed()).toBe('400');
    // Plain profit-taking: 2,000 out still owes on the 2,000 gain.
    expect(owedAt(10000, markAfterInvestmentChange(10000, 12000, -2000), rate).toFixed()).toBe('400');
    // More withdrawn than the mark: the mark goes below zero, the gain is still owed on.
    const deep = markAfterInvestmentChange(1000, 12000, -5000);
    expect([deep.toFixed(), owedAt(7000, deep, rate).toFixed()]).toEqual(['-4000', '2200']);
  });

  it('rounds the charge to the cent, half up', () => {
    expect(owedAt('10000.0149', 10000, 20).toFixed()).toBe('0');
    expect(owedAt('10000.025', 10000, 20).toFixed()).toBe('0.01');
  });
});

describe('allocating a settlement to the lead trades', () => {
  const d = (s: string) => new Date(s);
  const nov = { period_start: d('2026-10-31T19:00:00Z'), period_end: d('2026-11-30T19:00:00Z') };

  it('pro rata of the profit each trade realised in the period, to the cent, the remainder on the last: the parts sum to the settlement', () => {
    const trades = [
      { order_id: 'a', closed_at: d('2026-11-02T10:00:00Z'), pnl: '100' },
      { order_id: 'b', closed_at: d('2026-11-05T10:00:00Z'), pnl: '-40' },
      { order_id: 'c', closed_at: d('2026-11-07T10:00:00Z'), pnl: '200' },
      { order_id: 'e', closed_at: d('2026-11-09T10:00:00Z'), pnl: '33.333' },
      // Outside the period: not this settlement's.
      { order_id: 'z', closed_at: d('2026-12-01T10:00:00Z'), pnl: '500' },
    ];
    const shares = allocateProfitShare([{ ...nov, owed: '58.67' }], trades, () => null);
    // 58.67 × 100 / 333.333 = 17.6010… → 17.60; × 200 / 333.333 = 35.2020… → 35.20; the rest 5.87.
    expect(Object.fromEntries([...shares].map(([k, v]) => [k, v.toFixed(2)]))).toEqual({ a: '17.60', c: '35.20', e: '5.87' });
    expect([...shares.values()].reduce((s, v) => s.plus(v), new Decimal(0)).toFixed(2)).toBe('58.67');
  });

  it('a gain that is only unrealised goes to the last filled order before the period end; nothing owed, nothing allocated', () => {
    const shares = allocateProfitShare([{ ...nov, owed: '12.34' }, { period_start: nov.period_end, period_end: d('2026-12-31T19:00:00Z'), owed: '0' }], [], (end) =>
      end.getTime() === nov.period_end.getTime() ? 'buy-1' : 'other',
    );
    expect([...shares].map(([k, v]) => [k, v.toFixed(2)])).toEqual([['buy-1', '12.34']]);
  });
});
