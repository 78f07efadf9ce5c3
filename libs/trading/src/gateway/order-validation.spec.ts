import { ExchangeError } from '../errors';
import type { Market } from './exchange-gateway';
import { quoteToBase, validateCostAgainstMarket, validateOrderAgainstMarket } from './order-validation';

const btc: Market = {
  symbol: 'BTC/USDT',
  id: 'BTC-USDT',
  base: 'BTC',
  quote: 'USDT',
  active: true,
  amountPrecision: '0.00000001',
  pricePrecision: '0.1',
  minAmount: '0.00001',
  minCost: '1',
};

function failure(fn: () => unknown): ExchangeError {
  try {
    fn();
  } catch (e) {
    return e as ExchangeError;
  }
  throw new Error('expected a failure');
}

describe('validateOrderAgainstMarket', () => {
  it('rounds the amount DOWN to the step, and the price to the tick never past the limit: a buy DOWN, a sell UP', () => {
    expect(validateOrderAgainstMarket(btc, 'buy', '0.123456789', '73384.86')).toEqual({
      amount: '0.12345678',
      price: '73384.8',
      cost: '9059.851108944',
    });
    expect(validateOrderAgainstMarket(btc, 'sell', '0.123456789', '73384.81')).toMatchObject({ amount: '0.12345678', price: '73384.9' });
    // On the tick already: unchanged either way.
    expect(validateOrderAgainstMarket(btc, 'buy', '1', '30000.1').price).toBe('30000.1');
    expect(validateOrderAgainstMarket(btc, 'sell', '1', '30000.1').price).toBe('30000.1');
  });

  it('never rounds up, even at .99999', () => {
    expect(validateOrderAgainstMarket(btc, 'buy', '0.000999999999').amount).toBe('0.00099999');
  });

  it('accepts an order without a price and then skips the notional check', () => {
    expect(validateOrderAgainstMarket(btc, 'buy', '0.00001')).toEqual({ amount: '0.00001', price: null, cost: null });
  });

  it('refuses a value below the minimum notional', () => {
    const e = failure(() => validateOrderAgainstMarket(btc, 'buy', '0.00001', '50000'));
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e).toMatchObject({ kind: 'permanent', code: 'below_min_notional' });
    expect(e.reason).toContain('0.5');
  });

  it('accepts exactly the minimum notional', () => {
    expect(validateOrderAgainstMarket(btc, 'buy', '0.00002', '50000').cost).toBe('1');
  });

  it.each([['0'], ['-1'], ['abc'], ['1e-5'], [''], ['0.000000001']])('refuses the amount "%s"', (amount) => {
    expect(failure(() => validateOrderAgainstMarket(btc, 'buy', amount))).toMatchObject({ kind: 'permanent', code: 'invalid_amount' });
  });

  it('refuses an amount below the minimum order size', () => {
    const e = failure(() => validateOrderAgainstMarket(btc, 'buy', '0.000009'));
    expect(e).toMatchObject({ code: 'invalid_amount' });
    expect(e.reason).toContain('minimum order size 0.00001');
  });

  it('refuses a bad price and an inactive market', () => {
    expect(failure(() => validateOrderAgainstMarket(btc, 'buy', '1', '0'))).toMatchObject({ code: 'invalid_order' });
    expect(failure(() => validateOrderAgainstMarket(btc, 'buy', '1', '0.01'))).toMatchObject({ code: 'invalid_order' });
    expect(failure(() => validateOrderAgainstMarket({ ...btc, active: false }, 'buy', '1', '1'))).toMatchObject({ code: 'invalid_order' });
  });

  it('has no notional rule when the market has none (OKX spot)', () => {
    expect(validateOrderAgainstMarket({ ...btc, minCost: null }, 'buy', '0.00001', '1').cost).toBe('0.00001');
  });
});

describe('validateCostAgainstMarket', () => {
  it('cuts the cost DOWN to the quote step (the tick), never up', () => {
    expect(validateCostAgainstMarket(btc, '100')).toBe('100');
    expect(validateCostAgainstMarket(btc, '100.0999999999')).toBe('100');
    expect(validateCostAgainstMarket({ ...btc, pricePrecision: '0.0001' }, '12.34567')).toBe('12.3456');
  });

  it.each([['0'], ['-5'], ['abc'], [''], ['1e3']])('refuses the cost "%s"', (cost) => {
    expect(failure(() => validateCostAgainstMarket(btc, cost))).toMatchObject({ kind: 'permanent', code: 'invalid_amount' });
  });

  it('refuses a cost that rounds to nothing, below the minimum notional, or on a closed market', () => {
    expect(failure(() => validateCostAgainstMarket(btc, '0.09')).reason).toBe('cost 0.09 USDT is smaller than the quote step 0.1 of BTC/USDT');
    const e = failure(() => validateCostAgainstMarket(btc, '0.99'));
    expect(e).toMatchObject({ kind: 'permanent', code: 'below_min_notional' });
    expect(e.reason).toBe('order value 0.9 USDT is below the minimum 1 USDT of BTC/USDT');
    expect(validateCostAgainstMarket(btc, '1')).toBe('1');
    expect(validateCostAgainstMarket({ ...btc, minCost: null }, '0.1')).toBe('0.1');
    expect(failure(() => validateCostAgainstMarket({ ...btc, active: false }, '10'))).toMatchObject({ code: 'invalid_order' });
  });
});

describe('quoteToBase', () => {
  it('divides down to 18 decimals, never more than the budget buys', () => {
    expect(quoteToBase('100', '30000')).toBe('0.003333333333333333');
    expect(quoteToBase('10', '40000')).toBe('0.00025');
  });
});
