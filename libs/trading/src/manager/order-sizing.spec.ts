import { Decimal } from '@torgovo/core';
import type { Market } from '../gateway/exchange-gateway';
import { ExchangeError } from '../errors';
import { needsTicker, percentBudget, planPlacement, sendsCost, SizedOrder, tickerPrice } from './order-sizing';

const BTC: Market = {
  symbol: 'BTC/USDT', id: 'BTC-USDT', base: 'BTC', quote: 'USDT', active: true,
  amountPrecision: '0.00000001', pricePrecision: '0.1', minAmount: '0.00001', minCost: null,
};
const order = (o: Partial<SizedOrder>): SizedOrder => ({
  mode: 'paper', type: 'market', side: 'buy', symbol: 'BTC/USDT', amount: '0.01', quote_amount: null, price: '50000', ...o,
});

describe('planPlacement', () => {
  it('sends the signal price as the paper fill price', () => {
    expect(planPlacement(order({}), BTC, null)).toEqual({ amount: '0.01', price: '50000' });
  });

  it('turns a quote amount into base units, rounded down to the lot size', () => {
    expect(planPlacement(order({ amount: null, quote_amount: '100', price: '30000' }), BTC, null)).toEqual({ amount: '0.00333333', price: '30000' });
  });

  it('sends no price for a live market order, and converts a quote sell at the ticker when there is no signal price', () => {
    expect(planPlacement(order({ mode: 'live', price: null }), BTC, null)).toEqual({ amount: '0.01' });
    expect(planPlacement(order({ mode: 'live', side: 'sell', price: null, amount: null, quote_amount: '10' }), BTC, '40000')).toEqual({ amount: '0.00025' });
  });

  it('sends a live quote-sized market buy as its cost, cut DOWN to the quote step, whatever the prices', () => {
    const buy = order({ mode: 'live', price: null, amount: null, quote_amount: '100.0999' });
    expect(planPlacement(buy, BTC, null)).toEqual({ cost: '100' });
    expect(planPlacement({ ...buy, price: '30000' }, BTC, '40000')).toEqual({ cost: '100' });
    expect(planPlacement({ ...buy, quote_amount: '0.19' }, BTC, null)).toEqual({ cost: '0.1' });
  });

  it('converts a quote amount at its own price for a live limit buy and on paper', () => {
    expect(planPlacement(order({ mode: 'live', type: 'limit', price: '40000', amount: null, quote_amount: '10' }), BTC, null)).toEqual({ amount: '0.00025', price: '40000' });
    expect(planPlacement(order({ amount: null, quote_amount: '10', price: '40000' }), BTC, null)).toEqual({ amount: '0.00025', price: '40000' });
  });

  it('rounds the price to the tick first (a buy DOWN, a sell UP), then converts a quote amount at that very price: the cost never exceeds the budget', () => {
    const buy = planPlacement(order({ amount: null, quote_amount: '10000', price: '30000.05' }), BTC, null);
    expect(buy).toEqual({ amount: '0.33333333', price: '30000' });
    expect(new Decimal(buy.amount!).mul(buy.price!).lte(10000)).toBe(true);
    expect(planPlacement(order({ side: 'sell', amount: null, quote_amount: '10000', price: '30000.05' }), BTC, null)).toEqual({ amount: '0.33333222', price: '30000.1' });
    // A live limit is never sent past the signal's limit.
    expect(planPlacement(order({ mode: 'live', type: 'limit', price: '30000.05' }), BTC, null)).toEqual({ amount: '0.01', price: '30000' });
    expect(planPlacement(order({ mode: 'live', type: 'limit', side: 'sell', price: '30000.05' }), BTC, null)).toEqual({ amount: '0.01', price: '30000.1' });
    // A live market sell sized in quote converts at the bid rounded UP: never more base than the quote is worth.
    expect(planPlacement(order({ mode: 'live', side: 'sell', price: null, amount: null, quote_amount: '10' }), BTC, '39999.95')).toEqual({ amount: '0.00025' });
  });

  it('rejects a cost order below the quote step or the minimum notional before anything is sent', () => {
    const buy = order({ mode: 'live', price: null, amount: null, quote_amount: '0.05' });
    expect(() => planPlacement(buy, BTC, null)).toThrow(/cost 0.05 USDT is smaller than the quote step 0.1/);
    expect(() => planPlacement({ ...buy, quote_amount: '4.99' }, { ...BTC, minCost: '5' }, null)).toThrow(/order value 4.9 USDT is below the minimum 5 USDT/);
    expect(planPlacement({ ...buy, quote_amount: '5' }, { ...BTC, minCost: '5' }, null)).toEqual({ cost: '5' });
  });

  it('rejects what the exchange would refuse, permanently and with a reason', () => {
    expect(() => planPlacement(order({ amount: '0.000001' }), BTC, null)).toThrow(/below the minimum order size 0.00001/);
    expect(() => planPlacement(order({ mode: 'live', type: 'limit', price: null }), BTC, null)).toThrow(/needs a price/);
    expect(() => planPlacement(order({ price: null }), BTC, null)).toThrow(/no price/);
    expect(() => planPlacement(order({ amount: '0.001', price: '5' }), { ...BTC, minCost: '5' }, null)).toThrow(/below the minimum 5 USDT/);
  });
});

describe('sendsCost', () => {
  it('only for a live market buy sized in quote', () => {
    const quoteBuy = order({ mode: 'live', price: null, amount: null, quote_amount: '10' });
    expect(sendsCost(quoteBuy)).toBe(true);
    expect(sendsCost({ ...quoteBuy, price: '40000' })).toBe(true);
    expect([{ mode: 'paper' as const }, { side: 'sell' as const }, { type: 'limit' as const }, { amount: '0.1', quote_amount: null }].map((o) => sendsCost({ ...quoteBuy, ...o }))).toEqual([false, false, false, false]);
  });
});

describe('needsTicker', () => {
  it('asks for a price only when placing needs one', () => {
    expect(needsTicker(order({}), BTC)).toBe(false);
    expect(needsTicker(order({ price: null }), BTC)).toBe(true);
    expect(needsTicker(order({ mode: 'live', price: null }), BTC)).toBe(false);
    expect(needsTicker(order({ mode: 'live', price: null }), { ...BTC, minCost: '5' })).toBe(true);
    expect(needsTicker(order({ mode: 'live', price: null, amount: null, quote_amount: '10', side: 'sell' }), BTC)).toBe(true);
    // A live quote market buy is sent as its cost: no price needed, even with a minimum notional.
    expect(needsTicker(order({ mode: 'live', price: null, amount: null, quote_amount: '10' }), { ...BTC, minCost: '5' })).toBe(false);
    expect(needsTicker(order({ price: null, amount: null, quote_amount: '10' }), BTC)).toBe(true);
  });

  it('reads the side of the book a market order meets', () => {
    const t = { symbol: 'BTC/USDT', last: '10', bid: '9', ask: '11' };
    expect(tickerPrice(t, 'buy')).toBe('11');
    expect(tickerPrice(t, 'sell')).toBe('9');
    expect(tickerPrice({ ...t, ask: null }, 'buy')).toBe('10');
  });
});

describe('percentBudget', () => {
  const usdt = (free: string) => ({ USDT: { free, used: '5', total: '0' }, BTC: { free: '3', used: '0', total: '3' } });

  it('spends that percent of the free quote balance, rounded down to 18 decimals', () => {
    expect(percentBudget(usdt('1000'), BTC, '25')).toBe('250');
    expect(percentBudget(usdt('1000'), BTC, '100')).toBe('1000');
    expect(percentBudget(usdt('0.000000000000000003'), BTC, '50')).toBe('0.000000000000000001');
    expect(percentBudget(usdt('10'), BTC, '33.333333333333333333')).toBe('3.333333333333333333');
  });

  it('nothing free (or no such currency) is a permanent insufficient_funds with a reason', () => {
    for (const balances of [usdt('0'), usdt('-1'), { BTC: { free: '1', used: '0', total: '1' } }]) {
      let error: unknown;
      try {
        percentBudget(balances, BTC, '25');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ExchangeError);
      expect(error).toMatchObject({ kind: 'permanent', code: 'insufficient_funds', reason: expect.stringMatching(/^Insufficient USDT balance: -?\d+ free, nothing to spend 25% of$/) });
    }
  });
});
