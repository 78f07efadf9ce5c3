import {
  parseOkxBalance,
  parseOkxDeposit,
  parseOkxDepositAddress,
  parseOkxMarket,
  parseOkxOrder,
  parseOkxTicker,
} from './okx-parsers';

// Trimmed from real OKX responses recorded in ccxt's test data (ts/src/test/static/response/okx.json).
const balanceResponse = {
  code: '0',
  data: [
    {
      details: [
        { availBal: '0.6612664522199999', availEq: '0.6612664522199999', cashBal: '1.06126645222', ccy: 'BTC', eq: '1.06126645222', frozenBal: '0.4' },
        { availBal: '10.19979', availEq: '10.19979', cashBal: '10.29979', ccy: 'LTC', eq: '10.29979', frozenBal: '0.1' },
        { availBal: '0', availEq: '0', cashBal: '0.000258796', ccy: 'USDT', eq: '0.000258796', frozenBal: '441.02' },
      ],
      uTime: '1752243327154',
    },
  ],
  msg: '',
};

const spotOrder = {
  accFillSz: '0.1',
  avgPx: '101.58',
  cTime: '1712410901848',
  clOrdId: 'e847386590ce4dBC6f7ae74854f6a617',
  fee: '-0.0001',
  feeCcy: 'LTC',
  fillPx: '101.58',
  fillSz: '0.1',
  instId: 'LTC-USDT',
  instType: 'SPOT',
  ordId: '1339107111507525632',
  ordType: 'market',
  px: '',
  side: 'buy',
  state: 'filled',
  sz: '0.1',
  tdMode: 'cash',
  tgtCcy: 'base_ccy',
};

describe('OKX parsers', () => {
  it('reads balances exactly, where ccxt would give 0.4000000000000001', () => {
    expect(parseOkxBalance(balanceResponse)).toEqual({
      BTC: { free: '0.6612664522199999', used: '0.4000000000000001', total: '1.06126645222' },
      LTC: { free: '10.19979', used: '0.1', total: '10.29979' },
      USDT: { free: '0', used: '0.000258796', total: '0.000258796' },
    });
  });

  it('reads a filled spot market order, fee as a positive charge', () => {
    expect(parseOkxOrder(spotOrder, 'LTC/USDT')).toEqual({
      exchangeOrderId: '1339107111507525632',
      clientOrderId: 'e847386590ce4dBC6f7ae74854f6a617',
      symbol: 'LTC/USDT',
      side: 'buy',
      type: 'market',
      status: 'closed',
      amount: '0.1',
      requestedCost: null,
      price: null,
      filled: '0.1',
      average: '101.58',
      cost: '10.158',
      fee: '0.0001',
      feeCurrency: 'LTC',
      timestamp: 1712410901848,
      rejectReason: null,
    });
  });

  it('reads a market buy sized by cost (tgtCcy quote_ccy): sz is the quote asked, the base comes from the fill', () => {
    const byCost = { ...spotOrder, tgtCcy: 'quote_ccy', sz: '100', accFillSz: '0.984445', fillSz: '0.984445', fee: '-0.000984445' };
    expect(parseOkxOrder(byCost, 'LTC/USDT')).toMatchObject({
      status: 'closed',
      amount: '0.984445',
      requestedCost: '100',
      filled: '0.984445',
      average: '101.58',
      cost: '99.9999231',
      fee: '0.000984445',
      feeCurrency: 'LTC',
    });
    // Before any fill the base is unknown: amount follows the fill, the cost asked stays.
    const live = parseOkxOrder({ ...byCost, state: 'live', accFillSz: '0', avgPx: '', fee: '0' }, 'LTC/USDT');
    expect(live).toMatchObject({ status: 'open', amount: '0', requestedCost: '100', filled: '0', average: null, cost: '0' });
    // tgtCcy applies to market orders only (a quote_ccy sell raises sz in quote); a limit order's sz is base.
    expect(parseOkxOrder({ ...byCost, side: 'sell' }, 'LTC/USDT')).toMatchObject({ amount: '0.984445', requestedCost: '100' });
    expect(parseOkxOrder({ ...byCost, ordType: 'limit', px: '100' }, 'LTC/USDT')).toMatchObject({ amount: '100', requestedCost: null });
  });

  it('maps OKX order states', () => {
    const state = (s: string) => parseOkxOrder({ ...spotOrder, state: s }, 'LTC/USDT').status;
    expect([state('live'), state('partially_filled'), state('filled'), state('canceled'), state('mmp_canceled')]).toEqual([
      'open',
      'open',
      'closed',
      'canceled',
      'canceled',
    ]);
    const open = parseOkxOrder({ ...spotOrder, state: 'live', ordType: 'limit', px: '0.2', accFillSz: '0', avgPx: '', fee: '0' }, 'LTC/USDT');
    expect(open).toMatchObject({ type: 'limit', price: '0.2', filled: '0', average: null, cost: '0', fee: '0' });
  });

  it('a failed order is rejected with the exchange reason, else its state', () => {
    const failed = { ...spotOrder, state: 'order_failed', accFillSz: '0', avgPx: '', fee: '0' };
    expect(parseOkxOrder(failed, 'LTC/USDT')).toMatchObject({ status: 'rejected', rejectReason: 'OKX order state order_failed' });
    expect(parseOkxOrder({ ...failed, cancelSourceReason: 'Order failed to settle' }, 'LTC/USDT').rejectReason).toBe('Order failed to settle');
    expect(parseOkxOrder({ ...spotOrder, state: 'canceled', cancelSourceReason: 'Order canceled by user' }, 'LTC/USDT').rejectReason).toBeNull();
  });

  it('reads a spot instrument', () => {
    const inst = { baseCcy: 'BTC', instId: 'BTC-USDT', instType: 'SPOT', lotSz: '0.00000001', minSz: '0.00001', quoteCcy: 'USDT', state: 'live', tickSz: '0.1' };
    expect(parseOkxMarket(inst)).toEqual({
      symbol: 'BTC/USDT',
      id: 'BTC-USDT',
      base: 'BTC',
      quote: 'USDT',
      active: true,
      amountPrecision: '0.00000001',
      pricePrecision: '0.1',
      minAmount: '0.00001',
      minCost: null,
    });
    expect(parseOkxMarket({ ...inst, state: 'suspend' }).active).toBe(false);
  });

  it('picks the selected deposit address of the asked network', () => {
    const response = {
      code: '0',
      data: [
        { chain: 'USDT-TRC20', ctAddr: 'gjLj6t', ccy: 'USDT', to: '18', addr: 'AAAAAAAA', selected: false },
        { chain: 'USDT-TRC20', ctAddr: 'gjLj6t', ccy: 'USDT', to: '18', addr: 'AAAAAAAABBBBBBBBB', selected: true },
        { chain: 'USDT-ERC20', ctAddr: '831ec7', ccy: 'USDT', to: '18', addr: 'AAAAAAAABBBBBBBBBCCCC', selected: true },
        { chain: 'USDT-TON', addrEx: { comment: '11563797' }, ccy: 'USDT', to: '18', addr: 'TONADDR', selected: true },
      ],
      msg: '',
    };
    expect(parseOkxDepositAddress(response, 'USDT', 'TRC20')).toEqual({ currency: 'USDT', address: 'AAAAAAAABBBBBBBBB', tag: null, network: 'TRC20' });
    expect(parseOkxDepositAddress(response, 'USDT', 'ton')).toEqual({ currency: 'USDT', address: 'TONADDR', tag: '11563797', network: 'TON' });
    expect(parseOkxDepositAddress(response, 'USDT').network).toBe('TRC20');
    expect(() => parseOkxDepositAddress(response, 'USDT', 'SOL')).toThrow('no deposit address for USDT on SOL');
  });

  it('reads deposits (amount exact, 2 = ok, 0 and 1 = pending, blocked = failed)', () => {
    const row = { amt: '223.18782496', txId: '6d892c66', ccy: 'USDT', chain: 'USDT-TRC20', from: '', to: '39kK4Xvg', ts: '1597026383085', state: '2', depId: '4703779' };
    expect(parseOkxDeposit(row)).toEqual({
      id: '4703779',
      txId: '6d892c66',
      currency: 'USDT',
      amount: '223.18782496',
      address: '39kK4Xvg',
      tag: null,
      network: 'TRC20',
      status: 'ok',
      timestamp: 1597026383085,
    });
    expect(parseOkxDeposit({ ...row, state: '0' }).status).toBe('pending');
    expect(parseOkxDeposit({ ...row, state: '1' }).status).toBe('pending');
    expect(parseOkxDeposit({ ...row, state: '12' }).status).toBe('failed');
  });

  it('reads a ticker', () => {
    const row = { instType: 'SPOT', instId: 'BTC-USDT', last: '73384.8', askPx: '73384.8', bidPx: '73384.7', ts: '1710328243709' };
    expect(parseOkxTicker(row, 'BTC/USDT')).toEqual({ symbol: 'BTC/USDT', last: '73384.8', bid: '73384.7', ask: '73384.8' });
  });
});
