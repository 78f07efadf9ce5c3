import { DomainError } from '@torgovo/core';
import { PAPER_MARKETS } from '@torgovo/trading';
import { buildMarketIndex, resolveMarket } from './market-symbols';
import { parseTimestamp, parseTradingViewSignal } from './tradingview-signal';

const errorOf = (body: string): DomainError => {
  try {
    parseTradingViewSignal(body);
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
};

describe('parseTradingViewSignal', () => {
  it('parses the alert exactly as TradingView sends it (placeholders replaced)', () => {
    const s = parseTradingViewSignal(
      '{"action": "buy", "ticker": "BTCUSDT", "price": "65000.5", "quantity": "0.01", "alert_id": "2024-05-01T12:00:00Z", "timestamp": "2024-05-01T12:00:00Z", "secret": "abc"}',
    );
    expect(s).toMatchObject({ action: 'buy', intent: 'buy', compactTicker: 'BTCUSDT', alertId: '2024-05-01T12:00:00Z', secret: 'abc', orderType: null });
    expect(s.price?.toFixed()).toBe('65000.5');
    expect(s.quantity).toEqual({ kind: 'base', value: expect.anything() });
    expect(s.quantity?.value.toFixed()).toBe('0.01');
    expect(s.timestamp?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
  });

  it.each([
    ['buy', 'buy'],
    ['long', 'buy'],
    ['SELL', 'sell'],
    ['short', 'sell'],
    ['close', 'close'],
    ['exit', 'close'],
  ])('action %s → %s', (action, intent) => {
    expect(parseTradingViewSignal(JSON.stringify({ action, ticker: 'BTCUSDT' })).intent).toBe(intent);
  });

  it.each(['BTCUSDT', 'OKX:BTCUSDT', 'BTC-USDT', 'BTC/USDT', 'btc/usdt', 'BINANCE:BTC_USDT'])('ticker %s → BTCUSDT', (ticker) => {
    expect(parseTradingViewSignal(JSON.stringify({ action: 'buy', ticker })).compactTicker).toBe('BTCUSDT');
  });

  it('percent quantities, JSON numbers as exact strings, and placeholders meaning "not given"', () => {
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":"50%"}').quantity?.kind).toBe('percent');
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":"12.5%"}').quantity?.value.toFixed()).toBe('12.5');
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":0.1,"price":3000.25}').price?.toFixed()).toBe('3000.25');
    const s = parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":"{{strategy.order.contracts}}","price":""}');
    expect(s.quantity).toBeNull();
    expect(s.price).toBeNull();
  });

  it('JSON number literals stay exact (no float on the way); a key given twice with different values is malformed', () => {
    const s = parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","price":0.0000005,"quantity":0.123456789012345678,"timestamp":1714564800000}');
    expect(s.price?.toFixed()).toBe('0.0000005');
    expect(s.quantity?.value.toFixed()).toBe('0.123456789012345678');
    expect(s.timestamp?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":1e3}').quantity?.value.toFixed()).toBe('1000');
    expect(errorOf('{"action":"buy","action":"sell","ticker":"ETHUSDT"}').code).toBe('malformed_json');
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","alert_id":"{{strategy.order.id}}"}').alertId).toBeNull();
  });

  it('a number literal with a huge exponent, in any field, is not written out (it held the event loop and exhausted the heap): refused where a number is read, ignored elsewhere', () => {
    for (const huge of ['1e999999999', '1e-999999999', '-1E+999999999']) {
      const e = errorOf(`{"action":"buy","ticker":"BTCUSDT","quantity":${huge}}`);
      expect([e.code, e.details]).toEqual(['invalid_signal', [{ field: 'quantity', message: expect.stringMatching(/decimal number|must be positive/) }]]);
      expect(parseTradingViewSignal(`{"action":"buy","ticker":"BTCUSDT","quantity":"0.5","x":${huge}}`).quantity?.value.toFixed()).toBe('0.5');
    }
    // Within numeric(36,18) either way they are still read exactly.
    expect(parseTradingViewSignal('{"action":"buy","ticker":"ETHUSDT","quantity":1.5e-17}').quantity?.value.toFixed()).toBe('0.000000000000000015');
  });

  it.each([
    ['-1', 'must be positive'],
    ['0', 'greater than zero'],
    ['0.000', 'greater than zero'],
    ['1e3', 'decimal number'],
    ['abc', 'decimal number'],
    ['10000000000000', 'at most'],
    ['0.0000000000000000001', '18 decimals'],
    ['0%', 'percent must be greater than zero'],
    ['150%', 'at most 100%'],
    ['-5%', 'percent must be positive'],
  ])('quantity %s is rejected (%s)', (quantity, message) => {
    const e = errorOf(JSON.stringify({ action: 'buy', ticker: 'BTCUSDT', quantity }));
    expect(e.code).toBe('invalid_signal');
    expect(e.status).toBe(400);
    expect(e.details).toEqual([{ field: 'quantity', message: expect.stringContaining(message) }]);
  });

  it('malformed JSON and non-objects are malformed_json', () => {
    for (const body of ['', '{"action": "buy",', 'buy BTCUSDT', '[1,2]', 'null', '"x"']) {
      expect(errorOf(body).code).toBe('malformed_json');
    }
  });

  it('reports every bad field at once', () => {
    const e = errorOf(JSON.stringify({ action: 'hold', ticker: 'BTC USDT!', price: '-3', timestamp: 'yesterday', order_type: 'stop', secret: 5 }));
    expect(e.details.map((d) => d.field).sort()).toEqual(['action', 'order_type', 'price', 'secret', 'ticker', 'timestamp']);
    expect(errorOf('{}').details.map((d) => d.field)).toEqual(['action', 'ticker']);
    expect(errorOf('{"action":"{{strategy.order.action}}","ticker":"BTCUSDT"}').details).toEqual([{ field: 'action', message: 'is required (or position)' }]);
  });

  it('a target-position alert: the signed position decides (0 = flat, negative = short), with or without an action', () => {
    const at = (position: unknown, extra: Record<string, unknown> = {}) => parseTradingViewSignal(JSON.stringify({ position, ticker: 'BTCUSDT', ...extra }));
    expect(at('0.5')).toMatchObject({ intent: 'target', action: null });
    expect(at('0.5').targetPosition!.toFixed()).toBe('0.5');
    expect(at('-1.25').targetPosition!.toFixed()).toBe('-1.25');
    expect(at('0').targetPosition!.toFixed()).toBe('0');
    expect(at('0.0', { action: 'sell' })).toMatchObject({ intent: 'target', action: 'sell' });
    expect(parseTradingViewSignal('{"position": -0.001, "ticker": "BTCUSDT"}').targetPosition!.toFixed()).toBe('-0.001');
    expect(errorOf(JSON.stringify({ position: 'flat', ticker: 'BTCUSDT' })).details.map((d) => d.field)).toEqual(['position']);
    expect(errorOf(JSON.stringify({ position: '{{strategy.position_size}}', ticker: 'BTCUSDT' })).details).toEqual([{ field: 'position', message: 'is required (or action)' }]);
  });

  it('timestamps: {{timenow}}, ISO with offset, epoch ms and s', () => {
    expect(parseTimestamp('2024-05-01T12:00:00Z')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('2024-05-01T17:00:00+05:00')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('1714564800000')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('1714564800')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('2024-13-45T99:00:00Z')).toBeNull();
    expect(parseTimestamp('soon')).toBeNull();
  });
});

describe('resolveMarket', () => {
  const index = buildMarketIndex(PAPER_MARKETS);
  it.each(['BTCUSDT', 'OKX:BTCUSDT', 'BTC-USDT', 'BTC/USDT', 'btc/usdt'])('%s → BTC/USDT', (t) => {
    expect(resolveMarket(index, t)?.symbol).toBe('BTC/USDT');
  });
  it.each(['BTCEUR', 'XYZUSDT', 'BT-CUSDT', 'BTCUSDT.P', ''])('%s → null', (t) => {
    expect(resolveMarket(index, t)).toBeNull();
  });
});
