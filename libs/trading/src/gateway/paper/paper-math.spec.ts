import { computeMarketFill, computeReservation } from './paper-math';

const btc = { base: 'BTC', quote: 'USDT' };

describe('computeMarketFill', () => {
  it('buys: pays amount × price in quote, receives amount minus 0.1 % in base', () => {
    expect(computeMarketFill(btc, 'buy', '0.1', '101.58')).toEqual({
      filled: '0.1',
      average: '101.58',
      cost: '10.158',
      fee: '0.0001',
      feeCurrency: 'BTC',
      debit: { currency: 'USDT', amount: '10.158' },
      credit: { currency: 'BTC', amount: '0.0999' },
    });
  });

  it('sells: gives amount in base, receives the value minus 0.1 % in quote', () => {
    expect(computeMarketFill(btc, 'sell', '0.5', '73384.8')).toEqual({
      filled: '0.5',
      average: '73384.8',
      cost: '36692.4',
      fee: '36.6924',
      feeCurrency: 'USDT',
      debit: { currency: 'BTC', amount: '0.5' },
      credit: { currency: 'USDT', amount: '36655.7076' },
    });
  });

  it('rounds to 18 decimals in the exchange favour', () => {
    // 1e-8 × 1.23e-10 = 1.23e-18: more digits than the columns keep.
    const buy = computeMarketFill(btc, 'buy', '0.00000001', '0.000000000123');
    expect(buy.cost).toBe('0.000000000000000002'); // paid: rounded UP
    const sell = computeMarketFill(btc, 'sell', '0.00000001', '0.000000000123');
    expect(sell.cost).toBe('0.000000000000000001'); // rounded DOWN
    expect(sell.fee).toBe('0.000000000000000001'); // 1e-21 rounded UP
    expect(sell.credit.amount).toBe('0');
  });

  it('uses the configured fee rate', () => {
    expect(computeMarketFill(btc, 'buy', '2', '10', '0').fee).toBe('0');
    expect(computeMarketFill(btc, 'buy', '2', '10', '0.002').credit.amount).toBe('1.996');
  });
});

describe('computeReservation', () => {
  it('holds the quote value of a buy and the base amount of a sell', () => {
    expect(computeReservation(btc, 'buy', '0.25', '60000.1')).toEqual({ currency: 'USDT', amount: '15000.025' });
    expect(computeReservation(btc, 'sell', '0.25', '60000.1')).toEqual({ currency: 'BTC', amount: '0.25' });
  });
});
